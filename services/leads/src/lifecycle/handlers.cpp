// RPCs of the lifecycle area: GetLead, ListLeads, UpdateLead, ChangeLeadStatus, RecordEngagement.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <vector>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"
#include "lifecycle/lifecycle.hpp"

namespace crm::leads {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kUpdatable = {"given_name", "family_name", "email",     "phone",  "company_name",
                                             "job_title",  "country",     "region",    "source", "campaign_id",
                                             "priority",   "notes",       "attributes"};
constexpr std::size_t kMaxEngagementDetail = 500;
constexpr std::int64_t kFutureSkewSeconds = 60;

}  // namespace

grpc::Status LeadsService::GetLead(grpc::ServerContext* sc, const v1::GetLeadRequest* req, v1::GetLeadResponse* resp) {
    return rpc_.Handle(sc, "GetLead", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_lead() = areas_.lifecycle->Get(rc, id);
    });
}

grpc::Status LeadsService::ListLeads(grpc::ServerContext* sc, const v1::ListLeadsRequest* req,
                                     v1::ListLeadsResponse* resp) {
    return rpc_.Handle(sc, "ListLeads", [&](const RequestContext& rc) {
        lifecycle::ListQuery q;
        q.page_size = common::ResolvePageSize(req->page_size());
        q.page_token = req->page_token();
        common::Violations v;
        if (!v1::LeadStatus_IsValid(req->status())) v.Add("status", "unknown status");
        q.owner_id = common::text::Trim(req->owner_id());
        q.source = common::text::AsciiLower(common::text::Trim(req->source()));
        q.campaign_id = common::text::Trim(req->campaign_id());
        common::CheckToken(v, q.owner_id, "owner_id", domain::kMaxOwnerId);
        common::CheckText(v, q.source, "source", common::kName);
        common::CheckToken(v, q.campaign_id, "campaign_id", 200);
        if (!req->contact_id().empty()) q.contact_id = common::CheckId(v, req->contact_id(), "contact_id");
        v.ThrowIfAny();
        if (req->status() != v1::LEAD_STATUS_UNSPECIFIED) {
            q.status = domain::StatusText(lifecycle::StatusOf(req->status()));
        }
        common::Page<v1::Lead> page = areas_.lifecycle->List(rc, q);
        for (auto& lead : page.items) *resp->add_leads() = std::move(lead);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status LeadsService::UpdateLead(grpc::ServerContext* sc, const v1::UpdateLeadRequest* req,
                                      v1::UpdateLeadResponse* resp) {
    return rpc_.Handle(sc, "UpdateLead", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->lead().id(), "lead.id");
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            // No mask: every updatable field that is set (see UpdateLeadRequest).
            common::ValidateUpdateMask(paths, kUpdatable, /*allow_empty=*/true);
        } catch (const ApiError& e) {
            v.Append(e.violations());  // reported with the other fields' problems in one answer
        }
        v1::Lead patch = lifecycle::CheckedLead(req->lead(), "lead.", false, v);
        if (!req->lead().owner_id().empty()) v.Add("lead.owner_id", "change the owner with AssignLead");
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        patch.set_id(id);
        const std::string& etag = req->etag().empty() ? req->lead().etag() : req->etag();
        *resp->mutable_lead() = areas_.lifecycle->Update(rc, patch, paths, etag);
    });
}

grpc::Status LeadsService::ChangeLeadStatus(grpc::ServerContext* sc, const v1::ChangeLeadStatusRequest* req,
                                            v1::ChangeLeadStatusResponse* resp) {
    return rpc_.Handle(sc, "ChangeLeadStatus", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        const bool known = v1::LeadStatus_IsValid(req->status()) && req->status() != v1::LEAD_STATUS_UNSPECIFIED;
        const domain::Status to = lifecycle::StatusOf(req->status());
        if (!known) {
            v.Add("status", "required: the target status");
        } else if (to == domain::Status::kConverted) {
            v.Add("status", "CONVERTED is reached only through ConvertLead");
        }
        const std::string reason = common::text::Trim(req->reason());
        common::CheckText(v, reason, "reason", {.max_chars = domain::kMaxStatusReason});
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_lead() = areas_.lifecycle->ChangeStatus(rc, id, to, reason, req->etag());
    });
}

grpc::Status LeadsService::RecordEngagement(grpc::ServerContext* sc, const v1::RecordEngagementRequest* req,
                                            v1::RecordEngagementResponse* resp) {
    return rpc_.Handle(sc, "RecordEngagement", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->lead_id(), "lead_id");
        common::CheckRequestId(v, req->request_id());
        const v1::Engagement& e = req->engagement();
        if (!domain::IsKey(e.type())) v.Add("engagement.type", "required; must match [a-z][a-z0-9_]{0,62}");
        if (e.direction() != v1::ENGAGEMENT_DIRECTION_INBOUND && e.direction() != v1::ENGAGEMENT_DIRECTION_OUTBOUND) {
            v.Add("engagement.direction", "required: INBOUND or OUTBOUND");
        }
        common::CheckText(v, e.detail(), "engagement.detail", {.max_chars = kMaxEngagementDetail, .multiline = true});
        if (e.has_occur_time() &&
            common::CheckTime(v, e.occur_time().seconds(), e.occur_time().nanos(), "engagement.occur_time")) {
            const auto now =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
            if (e.occur_time().seconds() > now + kFutureSkewSeconds) {
                v.Add("engagement.occur_time", "must not be in the future");
            }
        }
        v.ThrowIfAny();
        auto [lead, engagement] = areas_.lifecycle->RecordEngagement(rc, id, e, req->request_id());
        *resp->mutable_lead() = std::move(lead);
        *resp->mutable_engagement() = std::move(engagement);
    });
}

}  // namespace crm::leads
