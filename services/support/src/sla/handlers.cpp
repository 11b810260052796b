// RPCs of the sla area: GetSlaPolicy, UpdateSlaPolicy, GetSlaStatus.
#include <grpcpp/grpcpp.h>

#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "grpc_service.hpp"
#include "sla/sla.hpp"

namespace crm::support {

grpc::Status SupportService::GetSlaPolicy(grpc::ServerContext* sc, const v1::GetSlaPolicyRequest*,
                                          v1::GetSlaPolicyResponse* resp) {
    return rpc_.Handle(sc, "GetSlaPolicy", [&](const common::RequestContext& rc) {
        *resp->mutable_sla_policy() = areas_.sla->GetPolicy(rc);
    });
}

grpc::Status SupportService::UpdateSlaPolicy(grpc::ServerContext* sc, const v1::UpdateSlaPolicyRequest* req,
                                             v1::UpdateSlaPolicyResponse* resp) {
    return rpc_.Handle(sc, "UpdateSlaPolicy", [&](const common::RequestContext& rc) {
        common::Violations v;
        const sla::Policy policy = sla::CheckedPolicy(req->sla_policy(), v);
        v.ThrowIfAny();
        v1::SlaPolicy stored = policy.proto;
        stored.set_etag(req->sla_policy().etag());
        *resp->mutable_sla_policy() = areas_.sla->UpdatePolicy(rc, stored);
    });
}

grpc::Status SupportService::GetSlaStatus(grpc::ServerContext* sc, const v1::GetSlaStatusRequest* req,
                                          v1::GetSlaStatusResponse* resp) {
    return rpc_.Handle(sc, "GetSlaStatus", [&](const common::RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->case_id(), "case_id");
        v.ThrowIfAny();
        *resp = areas_.sla->Status(rc, id);
    });
}

}  // namespace crm::support
