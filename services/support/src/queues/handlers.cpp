// RPCs of crm.support.v1.SupportRoutingService: queues, presence, routing rules, routing.
#include <grpcpp/grpcpp.h>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/case.hpp"
#include "queues/queues.hpp"
#include "queues/routing_service.hpp"

namespace crm::support {
namespace {

using common::RequestContext;

const std::vector<std::string> kQueueUpdatable = {"name", "description", "strategy", "members", "active"};

// An agent id in a request: required, printable, at most 128 characters.
std::string CheckAgentId(common::Violations& v, const std::string& value, const char* field) {
    const std::string id = common::text::Trim(value);
    common::CheckToken(v, id, field, domain::kMaxUserId, /*required=*/true);
    return id;
}

}  // namespace

grpc::Status SupportRoutingService::CreateQueue(grpc::ServerContext* sc, const v1::CreateQueueRequest* req,
                                                v1::CreateQueueResponse* resp) {
    return rpc_.Handle(sc, "CreateQueue", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const queues::CheckedQueue q = queues::CheckQueue(req->queue(), "queue.", /*create=*/true, v);
        v.ThrowIfAny();
        *resp->mutable_queue() = queues_->Create(rc, q, req->request_id());
    });
}

grpc::Status SupportRoutingService::GetQueue(grpc::ServerContext* sc, const v1::GetQueueRequest* req,
                                             v1::GetQueueResponse* resp) {
    return rpc_.Handle(sc, "GetQueue", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_queue() = queues_->Get(rc, id);
    });
}

grpc::Status SupportRoutingService::ListQueues(grpc::ServerContext* sc, const v1::ListQueuesRequest* req,
                                               v1::ListQueuesResponse* resp) {
    return rpc_.Handle(sc, "ListQueues", [&](const RequestContext& rc) {
        const int page_size = common::ResolvePageSize(req->page_size());
        auto page = queues_->List(rc, page_size, req->page_token());
        for (auto& q : page.items) *resp->add_queues() = std::move(q);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SupportRoutingService::UpdateQueue(grpc::ServerContext* sc, const v1::UpdateQueueRequest* req,
                                                v1::UpdateQueueResponse* resp) {
    return rpc_.Handle(sc, "UpdateQueue", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->queue().id(), "queue.id");
        const queues::CheckedQueue q = queues::CheckQueue(req->queue(), "queue.", /*create=*/false, v);
        const auto& in = req->queue();
        const std::vector<std::string> paths =
            common::ResolveUpdatePaths(v, {req->update_mask().paths().begin(), req->update_mask().paths().end()},
                                       kQueueUpdatable, [&](const std::string& path) {
                                           if (path == "name") return !in.name().empty();
                                           if (path == "description") return !in.description().empty();
                                           if (path == "strategy")
                                               return in.strategy() != v1::ASSIGNMENT_STRATEGY_UNSPECIFIED;
                                           if (path == "members") return in.members_size() > 0;
                                           return false;  // active: only through the mask (false is its zero value)
                                       });
        if (std::find(paths.begin(), paths.end(), "name") != paths.end() && q.queue.name().empty()) {
            v.Add("queue.name", "required: a queue needs a name");
        }
        v.ThrowIfAny();
        *resp->mutable_queue() = queues_->Update(rc, id, q, paths, req->queue().etag());
    });
}

grpc::Status SupportRoutingService::SetAgentPresence(grpc::ServerContext* sc, const v1::SetAgentPresenceRequest* req,
                                                     v1::SetAgentPresenceResponse* resp) {
    return rpc_.Handle(sc, "SetAgentPresence", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string agent = CheckAgentId(v, req->agent_id(), "agent_id");
        if (req->presence() != v1::PRESENCE_AVAILABLE && req->presence() != v1::PRESENCE_AWAY) {
            v.Add("presence", "must be AVAILABLE or AWAY");
        }
        v.ThrowIfAny();
        auto result = queues_->SetPresence(rc, agent, req->presence());
        *resp->mutable_agent_presence() = std::move(result.presence);
        for (auto& id : result.assigned_case_ids) resp->add_assigned_case_ids(std::move(id));
    });
}

grpc::Status SupportRoutingService::GetAgentPresence(grpc::ServerContext* sc, const v1::GetAgentPresenceRequest* req,
                                                     v1::GetAgentPresenceResponse* resp) {
    return rpc_.Handle(sc, "GetAgentPresence", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string agent = CheckAgentId(v, req->agent_id(), "agent_id");
        v.ThrowIfAny();
        *resp->mutable_agent_presence() = queues_->GetPresence(rc, agent);
    });
}

grpc::Status SupportRoutingService::GetRoutingRules(grpc::ServerContext* sc, const v1::GetRoutingRulesRequest*,
                                                    v1::GetRoutingRulesResponse* resp) {
    return rpc_.Handle(sc, "GetRoutingRules",
                       [&](const RequestContext& rc) { *resp->mutable_routing_rules() = queues_->GetRules(rc); });
}

grpc::Status SupportRoutingService::UpdateRoutingRules(grpc::ServerContext* sc,
                                                       const v1::UpdateRoutingRulesRequest* req,
                                                       v1::UpdateRoutingRulesResponse* resp) {
    return rpc_.Handle(sc, "UpdateRoutingRules", [&](const RequestContext& rc) {
        common::Violations v;
        const v1::RoutingRules rules = queues::CheckRules(req->routing_rules(), v);
        v.ThrowIfAny();
        *resp->mutable_routing_rules() = queues_->UpdateRules(rc, rules);
    });
}

grpc::Status SupportRoutingService::RouteCase(grpc::ServerContext* sc, const v1::RouteCaseRequest* req,
                                              v1::RouteCaseResponse* resp) {
    return rpc_.Handle(sc, "RouteCase", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->case_id(), "case_id");
        const std::string queue =
            req->queue_id().empty() ? std::string() : common::CheckId(v, req->queue_id(), "queue_id");
        const std::string note = common::text::Trim(req->note());
        common::CheckText(v, note, "note", {.max_chars = domain::kMaxRoutingNote});
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp = queues_->Route(rc, id, queue, note, req->etag());
    });
}

grpc::Status SupportRoutingService::ListCaseRoutings(grpc::ServerContext* sc, const v1::ListCaseRoutingsRequest* req,
                                                     v1::ListCaseRoutingsResponse* resp) {
    return rpc_.Handle(sc, "ListCaseRoutings", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->case_id(), "case_id");
        v.ThrowIfAny();
        const int page_size = common::ResolvePageSize(req->page_size());
        auto page = queues_->ListRoutings(rc, id, page_size, req->page_token());
        for (auto& r : page.items) *resp->add_routings() = std::move(r);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::support
