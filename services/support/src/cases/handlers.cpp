// RPCs of the cases area: CreateCase, GetCase, ListCases, UpdateCase, ChangeCaseStatus, AssignCase.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cases/cases.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"

namespace crm::support {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kUpdatable = {"subject", "description", "contact_id",    "company_id",
                                             "product", "asset_id",    "priority",      "category",
                                             "tags",    "language",    "customer_tier", "custom_fields"};

}  // namespace

grpc::Status SupportService::CreateCase(grpc::ServerContext* sc, const v1::CreateCaseRequest* req,
                                        v1::CreateCaseResponse* resp) {
    return rpc_.Handle(sc, "CreateCase", [&](const RequestContext& rc) {
        common::Violations v;
        common::CheckRequestId(v, req->request_id());
        const v1::Case c = cases::CheckedCase(req->case_(), "case.", /*create=*/true, v);
        v.ThrowIfAny();
        *resp->mutable_case_() = areas_.cases->Create(rc, c, req->request_id());
    });
}

grpc::Status SupportService::GetCase(grpc::ServerContext* sc, const v1::GetCaseRequest* req,
                                     v1::GetCaseResponse* resp) {
    return rpc_.Handle(sc, "GetCase", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_case_() = areas_.cases->Get(rc, id);
    });
}

grpc::Status SupportService::ListCases(grpc::ServerContext* sc, const v1::ListCasesRequest* req,
                                       v1::ListCasesResponse* resp) {
    return rpc_.Handle(sc, "ListCases", [&](const RequestContext& rc) {
        cases::ListQuery q;
        q.page_size = common::ResolvePageSize(req->page_size());
        q.page_token = req->page_token();
        common::Violations v;
        if (!v1::CaseStatus_IsValid(req->status())) v.Add("status", "unknown status");
        q.assignee_id = common::text::Trim(req->assignee_id());
        common::CheckToken(v, q.assignee_id, "assignee_id", domain::kMaxUserId);
        if (!req->contact_id().empty()) q.contact_id = common::CheckId(v, req->contact_id(), "contact_id");
        v.ThrowIfAny();
        if (req->status() != v1::CASE_STATUS_UNSPECIFIED) {
            q.status = domain::StatusText(cases::StatusOf(req->status()));
        }
        common::Page<v1::Case> page = areas_.cases->List(rc, q);
        for (auto& c : page.items) *resp->add_cases() = std::move(c);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status SupportService::UpdateCase(grpc::ServerContext* sc, const v1::UpdateCaseRequest* req,
                                        v1::UpdateCaseResponse* resp) {
    return rpc_.Handle(sc, "UpdateCase", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->case_().id(), "case.id");
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            // No mask: every updatable field that is set (see UpdateCaseRequest).
            common::ValidateUpdateMask(paths, kUpdatable, /*allow_empty=*/true);
        } catch (const ApiError& e) {
            v.Append(e.violations());  // reported with the other fields' problems in one answer
        }
        v1::Case patch = cases::CheckedCase(req->case_(), "case.", /*create=*/false, v);
        v.ThrowIfAny();
        patch.set_id(id);
        *resp->mutable_case_() = areas_.cases->Update(rc, patch, paths, req->case_().etag());
    });
}

grpc::Status SupportService::ChangeCaseStatus(grpc::ServerContext* sc, const v1::ChangeCaseStatusRequest* req,
                                              v1::ChangeCaseStatusResponse* resp) {
    return rpc_.Handle(sc, "ChangeCaseStatus", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        const bool known = v1::CaseStatus_IsValid(req->status()) && req->status() != v1::CASE_STATUS_UNSPECIFIED;
        if (!known) {
            v.Add("status", "required: the target status");
        } else if (req->status() == v1::CASE_STATUS_MERGED) {
            v.Add("status", "MERGED is reached only by merging cases");
        }
        const std::string reason = common::text::Trim(req->reason());
        common::CheckText(v, reason, "reason", {.max_chars = domain::kMaxStatusReason});
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_case_() =
            areas_.cases->ChangeStatus(rc, id, cases::StatusOf(req->status()), reason, req->etag());
    });
}

grpc::Status SupportService::AssignCase(grpc::ServerContext* sc, const v1::AssignCaseRequest* req,
                                        v1::AssignCaseResponse* resp) {
    return rpc_.Handle(sc, "AssignCase", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        common::CheckToken(v, req->assignee_id(), "assignee_id", domain::kMaxUserId);
        domain::CheckEtagSyntax(v, req->etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_case_() = areas_.cases->Assign(rc, id, req->assignee_id(), req->etag());
    });
}

grpc::Status SupportService::MergeCases(grpc::ServerContext* sc, const v1::MergeCasesRequest* req,
                                        v1::MergeCasesResponse* resp) {
    return rpc_.Handle(sc, "MergeCases", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string survivor = common::CheckId(v, req->survivor_id(), "survivor_id");
        if (req->loser_ids().empty()) v.Add("loser_ids", "required: 1 to 10 case ids");
        common::CheckListSize(v, static_cast<std::size_t>(req->loser_ids_size()), "loser_ids", 10);
        std::vector<std::string> losers;
        for (int i = 0; i < req->loser_ids_size(); ++i) {
            const std::string field = "loser_ids[" + std::to_string(i) + "]";
            const std::string id = common::CheckId(v, req->loser_ids(i), field);
            if (id.empty()) continue;
            if (id == survivor) {
                v.Add(field, "the survivor cannot be merged into itself");
            } else if (std::find(losers.begin(), losers.end(), id) != losers.end()) {
                v.Add(field, "listed twice");
            } else {
                losers.push_back(id);
            }
        }
        common::CheckRequestId(v, req->request_id());
        domain::CheckEtagSyntax(v, req->survivor_etag(), "survivor_etag");
        v.ThrowIfAny();
        cases::MergeResult r = areas_.cases->Merge(rc, survivor, losers, req->request_id(), req->survivor_etag());
        *resp->mutable_survivor() = std::move(r.survivor);
        for (auto& c : r.merged) *resp->add_merged() = std::move(c);
    });
}

}  // namespace crm::support
