// The activity RPCs of SalesService (see grpc_service.hpp).
#include <google/protobuf/util/time_util.h>

#include "activities/activities.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"

namespace crm::sales {
namespace {

using common::RequestContext;
using google::protobuf::util::TimeUtil;

// Both times within the suite's range, and the reminder not after the due time.
void CheckTimes(common::Violations& v, const v1::Activity& a) {
    const bool due = domain::CheckOptionalTime(v, a.has_due_time(), a.due_time().seconds(), a.due_time().nanos(),
                                               "activity.due_time");
    const bool remind = domain::CheckOptionalTime(v, a.has_remind_time(), a.remind_time().seconds(),
                                                  a.remind_time().nanos(), "activity.remind_time");
    if (due && remind && a.has_due_time() && a.has_remind_time() &&
        TimeUtil::TimestampToMicroseconds(a.remind_time()) > TimeUtil::TimestampToMicroseconds(a.due_time())) {
        v.Add("activity.remind_time", "must not be after due_time");
    }
}

}  // namespace

grpc::Status SalesService::CreateActivity(grpc::ServerContext* sc, const v1::CreateActivityRequest* req,
                                          v1::CreateActivityResponse* resp) {
    return rpc_.Handle(sc, "CreateActivity", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        v1::Activity a = req->activity();
        domain::CheckIgnoredToken(v, a.id(), "activity.id");
        domain::CheckEtagSyntax(v, a.etag(), "activity.etag");
        if (a.type() == v1::ACTIVITY_TYPE_UNSPECIFIED || !v1::ActivityType_IsValid(a.type())) {
            v.Add("activity.type", "CALL, EMAIL, MEETING or TASK");
        }
        common::CheckText(v, a.subject(), "activity.subject", domain::kNameRule);
        common::CheckText(v, a.description(), "activity.description", domain::kDescriptionRule);
        common::CheckToken(v, a.owner_id(), "activity.owner_id", domain::kMaxOwnerLength);
        if (a.lead_id().empty() && a.contact_id().empty() && a.company_id().empty() && a.opportunity_id().empty()) {
            v.Add("activity", "link it to at least one lead, contact, company or opportunity");
        }
        a.set_lead_id(domain::CheckOptionalId(v, a.lead_id(), "activity.lead_id"));
        a.set_contact_id(domain::CheckOptionalId(v, a.contact_id(), "activity.contact_id"));
        a.set_company_id(domain::CheckOptionalId(v, a.company_id(), "activity.company_id"));
        a.set_opportunity_id(domain::CheckOptionalId(v, a.opportunity_id(), "activity.opportunity_id"));
        CheckTimes(v, a);
        v.ThrowIfAny();
        *resp->mutable_activity() = activities::Create(db_, outbox_, rc, a, req->request_id());
    });
}

grpc::Status SalesService::GetActivity(grpc::ServerContext* sc, const v1::GetActivityRequest* req,
                                       v1::GetActivityResponse* resp) {
    return rpc_.Handle(sc, "GetActivity", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_activity() = activities::Get(db_, rc, id);
    });
}

grpc::Status SalesService::UpdateActivity(grpc::ServerContext* sc, const v1::UpdateActivityRequest* req,
                                          v1::UpdateActivityResponse* resp) {
    return rpc_.Handle(sc, "UpdateActivity", [&](const RequestContext& rc) {
        common::Violations v;
        v1::Activity a = req->activity();
        a.set_id(common::CheckId(v, a.id(), "activity.id"));
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        domain::CheckEtagSyntax(v, a.etag(), "activity.etag");
        const auto paths =
            UpdatePaths(v, req->update_mask(), {"subject", "description", "due_time", "remind_time", "owner_id"},
                        [&](const std::string& f) {
                            if (f == "subject") return !a.subject().empty();
                            if (f == "description") return !a.description().empty();
                            if (f == "due_time") return a.has_due_time();
                            if (f == "remind_time") return a.has_remind_time();
                            return !a.owner_id().empty();
                        });
        if (Has(paths, "subject")) common::CheckText(v, a.subject(), "activity.subject", domain::kNameRule);
        if (Has(paths, "description")) {
            common::CheckText(v, a.description(), "activity.description", domain::kDescriptionRule);
        }
        if (Has(paths, "owner_id")) common::CheckToken(v, a.owner_id(), "activity.owner_id", domain::kMaxOwnerLength);
        CheckTimes(v, a);
        v.ThrowIfAny();
        *resp->mutable_activity() =
            activities::Update(db_, outbox_, rc, a, paths, req->etag().empty() ? a.etag() : req->etag());
    });
}

grpc::Status SalesService::CompleteActivity(grpc::ServerContext* sc, const v1::CompleteActivityRequest* req,
                                            v1::CompleteActivityResponse* resp) {
    return rpc_.Handle(sc, "CompleteActivity", [&](const RequestContext& rc) {
        common::Violations v;
        v1::CompleteActivityRequest in = *req;
        in.set_id(common::CheckId(v, in.id(), "id"));
        common::CheckText(v, in.outcome(), "outcome", domain::kDescriptionRule);
        v.ThrowIfAny();
        *resp->mutable_activity() = activities::Complete(db_, outbox_, rc, in);
    });
}

grpc::Status SalesService::ListActivities(grpc::ServerContext* sc, const v1::ListActivitiesRequest* req,
                                          v1::ListActivitiesResponse* resp) {
    return rpc_.Handle(sc, "ListActivities", [&](const RequestContext& rc) {
        common::Violations v;
        const int size = common::ResolvePageSize(req->page_size());
        if (req->record_type() == v1::RECORD_TYPE_UNSPECIFIED || !v1::RecordType_IsValid(req->record_type())) {
            v.Add("record_type", "LEAD, CONTACT, COMPANY or OPPORTUNITY");
        }
        const std::string id = common::CheckId(v, req->record_id(), "record_id");
        v.ThrowIfAny();
        auto page = activities::List(db_, rc, req->record_type(), id, size, req->page_token());
        for (auto& a : page.items) *resp->add_activities() = std::move(a);
        resp->set_next_page_token(page.next_page_token);
    });
}

}  // namespace crm::sales
