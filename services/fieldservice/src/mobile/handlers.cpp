// The mobile RPC of FieldService (see grpc_service.hpp and mobile/mobile.hpp).
#include <google/protobuf/util/field_mask_util.h>

#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "domain/status.hpp"
#include "grpc_service.hpp"
#include "mobile/mobile.hpp"

namespace crm::fieldservice {
namespace {

using common::RequestContext;

constexpr std::size_t kMaxMaskPaths = 30;
constexpr std::size_t kMaxTokenChars = 1024;

void CheckReadMask(common::Violations& v, const google::protobuf::FieldMask& mask) {
    if (!common::CheckListSize(v, mask.paths_size(), "read_mask", kMaxMaskPaths)) return;
    for (int i = 0; i < mask.paths_size(); ++i) {
        const std::string f = "read_mask.paths[" + std::to_string(i) + "]";
        if (!common::CheckToken(v, mask.paths(i), f, 128, true)) continue;
        if (!google::protobuf::util::FieldMaskUtil::IsValidPath<v1::WorkOrder>(mask.paths(i))) {
            v.Add(f, "is not a field of WorkOrder");
        }
    }
}

}  // namespace

void FieldService::CheckSyncOperation(common::Violations& v, v1::SyncOperation* op, const std::string& f) {
    common::CheckToken(v, op->idempotency_key(), f + ".idempotency_key", domain::kMaxTokenLength, true);
    op->set_work_order_id(common::CheckId(v, op->work_order_id(), f + ".work_order_id"));
    if (op->base_etag().empty()) {
        v.Add(f + ".base_etag", "is required: the etag of the job the change was made on");
    } else {
        domain::CheckEtagSyntax(v, op->base_etag(), f + ".base_etag");
    }
    if (op->has_status_change()) {
        auto* c = op->mutable_status_change();
        const std::string g = f + ".status_change";
        const auto to = static_cast<domain::Status>(c->status());
        if (to != domain::Status::kEnRoute && to != domain::Status::kOnSite && to != domain::Status::kCannotComplete) {
            v.Add(g + ".status", "EN_ROUTE, ON_SITE or CANNOT_COMPLETE");
        }
        common::CheckText(v, c->reason(), g + ".reason",
                          {.max_chars = 200, .required = to == domain::Status::kCannotComplete});
        if (!c->has_change_time()) {
            v.Add(g + ".change_time", "is required: when the change was made on the device");
        } else {
            ChangeTime(v, true, c->change_time(), g + ".change_time");
        }
    } else if (op->has_completion()) {
        auto* c = op->mutable_completion();
        const std::string g = f + ".completion";
        CheckCompletion(v, c->mutable_completion(), g + ".completion");
        if (!c->has_complete_time()) {
            v.Add(g + ".complete_time", "is required: when the job was completed on the device");
        } else {
            ChangeTime(v, true, c->complete_time(), g + ".complete_time");
        }
    } else {
        v.Add(f, "needs a status_change or a completion");
    }
}

grpc::Status FieldService::SyncTechnicianDay(grpc::ServerContext* sc, const v1::SyncTechnicianDayRequest* req,
                                             v1::SyncTechnicianDayResponse* resp) {
    return rpc_.Handle(sc, "SyncTechnicianDay", [&](const RequestContext& rc) {
        common::Violations v;
        v1::SyncTechnicianDayRequest in = *req;
        in.set_technician_id(common::CheckId(v, in.technician_id(), "technician_id"));
        common::CheckToken(v, in.since_token(), "since_token", kMaxTokenChars);
        CheckReadMask(v, in.read_mask());
        const auto count = static_cast<std::size_t>(in.operations_size());
        if (count > domain::kMaxSyncOperations) {
            v.Add("operations", "at most " + std::to_string(domain::kMaxSyncOperations) + " operations per call (" +
                                    std::to_string(count) + " sent): send the rest in later calls");
        } else {
            for (int i = 0; i < in.operations_size(); ++i) {
                CheckSyncOperation(v, in.mutable_operations(i), "operations[" + std::to_string(i) + "]");
            }
        }
        v.ThrowIfAny();
        *resp = mobile::Sync(db_, outbox_, rc, in, metrics_);
    });
}

}  // namespace crm::fieldservice
