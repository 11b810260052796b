// The opportunity RPCs of SalesService (see grpc_service.hpp).
#include <prometheus/counter.h>

#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "opportunities/opportunities.hpp"

namespace crm::sales {
namespace {

using common::RequestContext;

const std::vector<std::string> kUpdatable = {"name",     "amount",     "probability", "expected_close_date",
                                             "owner_id", "contact_id", "company_id",  "source_campaign_id",
                                             "lead_id",  "description"};

// Checks the client-settable fields of `o` at "opportunity." (all on create, the `paths` on update) and lowercases
// its ids; server-set fields are ignored.
void CheckOpportunity(common::Violations& v, v1::Opportunity& o, bool create, const std::vector<std::string>& paths) {
    auto touched = [&](const char* p) { return create || std::find(paths.begin(), paths.end(), p) != paths.end(); };
    if (touched("name")) common::CheckText(v, o.name(), "opportunity.name", domain::kNameRule);
    if (create) {
        if (!o.has_amount()) {
            v.Add("opportunity.amount", "is required");
        } else {
            common::CheckMoney(v, o.amount().amount_minor(), o.amount().currency_code(), "opportunity.amount");
        }
        o.set_pipeline_id(domain::CheckOptionalId(v, o.pipeline_id(), "opportunity.pipeline_id"));
        o.set_stage_id(domain::CheckOptionalId(v, o.stage_id(), "opportunity.stage_id"));
    } else if (touched("amount")) {  // the currency cannot change: it may be left out
        domain::CheckAmount(v, o.amount().amount_minor(), o.amount().currency_code(), "opportunity.amount");
    }
    if (touched("probability")) domain::CheckProbability(v, o.probability(), "opportunity.probability");
    if (touched("expected_close_date")) {
        domain::CheckDate(v, o.expected_close_date(), "opportunity.expected_close_date");
    }
    if (touched("owner_id")) common::CheckToken(v, o.owner_id(), "opportunity.owner_id", domain::kMaxOwnerLength);
    if (touched("contact_id")) o.set_contact_id(domain::CheckOptionalId(v, o.contact_id(), "opportunity.contact_id"));
    if (touched("company_id")) o.set_company_id(domain::CheckOptionalId(v, o.company_id(), "opportunity.company_id"));
    if (touched("source_campaign_id")) {
        common::CheckToken(v, o.source_campaign_id(), "opportunity.source_campaign_id", domain::kMaxOwnerLength);
    }
    if (touched("lead_id")) o.set_lead_id(domain::CheckOptionalId(v, o.lead_id(), "opportunity.lead_id"));
    if (touched("description"))
        common::CheckText(v, o.description(), "opportunity.description", domain::kDescriptionRule);
}

}  // namespace

grpc::Status SalesService::CreateOpportunity(grpc::ServerContext* sc, const v1::CreateOpportunityRequest* req,
                                             v1::CreateOpportunityResponse* resp) {
    return rpc_.Handle(sc, "CreateOpportunity", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        v1::Opportunity in = req->opportunity();
        domain::CheckIgnoredToken(v, in.id(), "opportunity.id");
        domain::CheckEtagSyntax(v, in.etag(), "opportunity.etag");
        CheckOpportunity(v, in, true, {});
        v.ThrowIfAny();
        // A retry returns the first deal as it is, without checking its links again.
        if (auto first = opportunities::FindCreated(db_, rc, req->request_id())) {
            *resp->mutable_opportunity() = std::move(*first);
            return;
        }
        links_->CheckLinks(rc, in.contact_id(), in.company_id(), "opportunity.");
        *resp->mutable_opportunity() = opportunities::Create(db_, outbox_, rc, in, req->request_id());
    });
}

grpc::Status SalesService::GetOpportunity(grpc::ServerContext* sc, const v1::GetOpportunityRequest* req,
                                          v1::GetOpportunityResponse* resp) {
    return rpc_.Handle(sc, "GetOpportunity", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_opportunity() = opportunities::Get(db_, rc, id);
    });
}

grpc::Status SalesService::ListOpportunities(grpc::ServerContext* sc, const v1::ListOpportunitiesRequest* req,
                                             v1::ListOpportunitiesResponse* resp) {
    return rpc_.Handle(sc, "ListOpportunities", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        v1::ListOpportunitiesRequest q = *req;  // ids lowercased below
        q.set_pipeline_id(domain::CheckOptionalId(v, q.pipeline_id(), "pipeline_id"));
        q.set_stage_id(domain::CheckOptionalId(v, q.stage_id(), "stage_id"));
        q.set_contact_id(domain::CheckOptionalId(v, q.contact_id(), "contact_id"));
        q.set_company_id(domain::CheckOptionalId(v, q.company_id(), "company_id"));
        common::CheckToken(v, q.owner_id(), "owner_id", domain::kMaxOwnerLength);
        if (!v1::OpportunityStatus_IsValid(q.status())) v.Add("status", "unknown status");
        domain::CheckDate(v, q.close_date_from(), "close_date_from");
        domain::CheckDate(v, q.close_date_to(), "close_date_to");
        if (!v1::OpportunityOrder_IsValid(q.order_by())) v.Add("order_by", "unknown order");
        v.ThrowIfAny();
        auto page = opportunities::List(db_, rc, q, size);
        for (auto& o : page.items) *resp->add_opportunities() = std::move(o);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SalesService::UpdateOpportunity(grpc::ServerContext* sc, const v1::UpdateOpportunityRequest* req,
                                             v1::UpdateOpportunityResponse* resp) {
    return rpc_.Handle(sc, "UpdateOpportunity", [&](const RequestContext& rc) {
        common::Violations v;
        v1::Opportunity in = req->opportunity();
        in.set_id(common::CheckId(v, in.id(), "opportunity.id"));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, in.etag(), "opportunity.etag");
        const auto paths = UpdatePaths(v, req->update_mask(), kUpdatable, [&](const std::string& f) {
            if (f == "name") return !in.name().empty();
            if (f == "amount") return in.has_amount();
            if (f == "probability") return in.probability() != 0;
            if (f == "expected_close_date") return !in.expected_close_date().empty();
            if (f == "owner_id") return !in.owner_id().empty();
            if (f == "contact_id") return !in.contact_id().empty();
            if (f == "company_id") return !in.company_id().empty();
            if (f == "source_campaign_id") return !in.source_campaign_id().empty();
            if (f == "lead_id") return !in.lead_id().empty();
            return !in.description().empty();
        });
        CheckOpportunity(v, in, false, paths);
        v.ThrowIfAny();
        // Links are checked only when the update sets them to another record (one read here, then contacts).
        auto sets = [&](const char* path, const std::string& value) { return !value.empty() && Has(paths, path); };
        if (sets("contact_id", in.contact_id()) || sets("company_id", in.company_id())) {
            const v1::Opportunity current = opportunities::Get(db_, rc, in.id());
            if (current.status() == v1::OPPORTUNITY_STATUS_OPEN && !current.has_delete_time()) {
                links_->CheckLinks(
                    rc,
                    sets("contact_id", in.contact_id()) && in.contact_id() != current.contact_id() ? in.contact_id()
                                                                                                   : std::string(),
                    sets("company_id", in.company_id()) && in.company_id() != current.company_id() ? in.company_id()
                                                                                                   : std::string(),
                    "opportunity.");
            }  // a closed or deleted deal is refused by the update itself
        }
        *resp->mutable_opportunity() =
            opportunities::Update(db_, outbox_, rc, in, paths, req->etag().empty() ? in.etag() : req->etag());
    });
}

grpc::Status SalesService::MoveOpportunityStage(grpc::ServerContext* sc, const v1::MoveOpportunityStageRequest* req,
                                                v1::MoveOpportunityStageResponse* resp) {
    return rpc_.Handle(sc, "MoveOpportunityStage", [&](const RequestContext& rc) {
        common::Violations v;
        v1::MoveOpportunityStageRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        in.set_stage_id(common::CheckId(v, in.stage_id(), "stage_id"));
        domain::CheckProbability(v, in.probability(), "probability");
        v.ThrowIfAny();
        *resp->mutable_opportunity() = opportunities::MoveStage(db_, outbox_, rc, in);
        metrics_.stage_changes.Increment();
    });
}

grpc::Status SalesService::WinOpportunity(grpc::ServerContext* sc, const v1::WinOpportunityRequest* req,
                                          v1::WinOpportunityResponse* resp) {
    return rpc_.Handle(sc, "WinOpportunity", [&](const RequestContext& rc) {
        common::Violations v;
        v1::WinOpportunityRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        if (in.has_amount()) common::CheckMoney(v, in.amount().amount_minor(), in.amount().currency_code(), "amount");
        v.ThrowIfAny();
        *resp->mutable_opportunity() = opportunities::Win(db_, outbox_, rc, in);
        metrics_.won.Increment();
    });
}

grpc::Status SalesService::LoseOpportunity(grpc::ServerContext* sc, const v1::LoseOpportunityRequest* req,
                                           v1::LoseOpportunityResponse* resp) {
    return rpc_.Handle(sc, "LoseOpportunity", [&](const RequestContext& rc) {
        common::Violations v;
        v1::LoseOpportunityRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        common::CheckText(v, in.reason(), "reason", domain::kNameRule);
        v.ThrowIfAny();
        *resp->mutable_opportunity() = opportunities::Lose(db_, outbox_, rc, in);
        metrics_.lost.Increment();
    });
}

grpc::Status SalesService::DeleteOpportunity(grpc::ServerContext* sc, const v1::DeleteOpportunityRequest* req,
                                             v1::DeleteOpportunityResponse* resp) {
    return rpc_.Handle(sc, "DeleteOpportunity", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_opportunity() = opportunities::Delete(db_, outbox_, rc, id, req->etag());
    });
}

grpc::Status SalesService::ListStageHistory(grpc::ServerContext* sc, const v1::ListStageHistoryRequest* req,
                                            v1::ListStageHistoryResponse* resp) {
    return rpc_.Handle(sc, "ListStageHistory", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->opportunity_id(), "opportunity_id");
        v.ThrowIfAny();
        for (auto& e : opportunities::ListStageHistory(db_, rc, id)) *resp->add_entries() = std::move(e);
    });
}

}  // namespace crm::sales
