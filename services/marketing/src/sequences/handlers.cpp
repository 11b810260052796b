// RPCs of the sequences area: sequences, their enrolments, split reports.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "grpc_service.hpp"
#include "sequences/sequences.hpp"

namespace crm::marketing {
namespace {

using common::ApiError;
using common::RequestContext;

const std::vector<std::string> kUpdatable = {"name", "description", "status", "trigger", "steps"};

int PageSize(common::Violations& v, int requested) {
    if (requested < 0) {
        v.Add("page_size", "must not be negative");
        return 0;
    }
    return common::ResolvePageSize(requested);
}

}  // namespace

grpc::Status MarketingService::CreateSequence(grpc::ServerContext* sc, const v1::CreateSequenceRequest* req,
                                              v1::CreateSequenceResponse* resp) {
    return rpc_.Handle(sc, "CreateSequence", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const v1::Sequence sequence = sequences::CheckedSequence(req->sequence(), true, {}, v);
        common::CheckRequestId(v, req->request_id());
        v.ThrowIfAny();
        *resp->mutable_sequence() = areas_.sequences->Create(rc, sequence, req->request_id());
    });
}

grpc::Status MarketingService::GetSequence(grpc::ServerContext* sc, const v1::GetSequenceRequest* req,
                                           v1::GetSequenceResponse* resp) {
    return rpc_.Handle(sc, "GetSequence", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->id(), "id");
        v.ThrowIfAny();
        *resp->mutable_sequence() = areas_.sequences->Get(rc, id);
    });
}

grpc::Status MarketingService::ListSequences(grpc::ServerContext* sc, const v1::ListSequencesRequest* req,
                                             v1::ListSequencesResponse* resp) {
    return rpc_.Handle(sc, "ListSequences", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const int page_size = PageSize(v, req->page_size());
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.sequences->List(rc, page_size, req->page_token());
        for (auto& s : page.items) *resp->add_sequences() = std::move(s);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status MarketingService::UpdateSequence(grpc::ServerContext* sc, const v1::UpdateSequenceRequest* req,
                                              v1::UpdateSequenceResponse* resp) {
    return rpc_.Handle(sc, "UpdateSequence", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->sequence().id(), "sequence.id");
        const std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
        try {
            common::ValidateUpdateMask(paths, kUpdatable);
        } catch (const ApiError& e) {
            v.Append(e.violations());
        }
        v1::Sequence patch = sequences::CheckedSequence(req->sequence(), false, paths, v);
        v.ThrowIfAny();
        patch.set_id(id);
        *resp->mutable_sequence() = areas_.sequences->Update(rc, patch, paths, req->sequence().etag());
    });
}

grpc::Status MarketingService::ListSequenceEnrolments(grpc::ServerContext* sc,
                                                      const v1::ListSequenceEnrolmentsRequest* req,
                                                      v1::ListSequenceEnrolmentsResponse* resp) {
    return rpc_.Handle(sc, "ListSequenceEnrolments", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->sequence_id(), "sequence_id");
        const int page_size = PageSize(v, req->page_size());
        common::CheckText(v, req->page_token(), "page_token", {.max_chars = 1000});
        v.ThrowIfAny();
        auto page = areas_.sequences->Enrolments(rc, id, page_size, req->page_token());
        for (auto& e : page.items) *resp->add_enrolments() = std::move(e);
        resp->set_next_page_token(page.next_page_token);
    });
}

grpc::Status MarketingService::GetSequenceSplitReport(grpc::ServerContext* sc,
                                                      const v1::GetSequenceSplitReportRequest* req,
                                                      v1::GetSequenceSplitReportResponse* resp) {
    return rpc_.Handle(sc, "GetSequenceSplitReport", [&](const RequestContext& rc) {
        RefusePublic(rc);
        common::Violations v;
        const std::string id = common::CheckId(v, req->sequence_id(), "sequence_id");
        common::CheckText(v, req->step_id(), "step_id", {.max_chars = 40, .required = true});
        v.ThrowIfAny();
        *resp = areas_.sequences->Report(rc, id, req->step_id());
    });
}

}  // namespace crm::marketing
