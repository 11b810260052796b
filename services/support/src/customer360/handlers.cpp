// RPC of the customer view: GetCustomer360.
#include <grpcpp/grpcpp.h>

#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "customer360/service.hpp"
#include "customer360/view.hpp"

namespace crm::support::customer360 {

grpc::Status CustomerViewService::GetCustomer360(grpc::ServerContext* sc, const v1::GetCustomer360Request* req,
                                                 v1::GetCustomer360Response* resp) {
    return rpc_.Handle(sc, "GetCustomer360", [&](const common::RequestContext& rc) {
        common::Violations v;
        const std::string contact_id = common::CheckId(v, req->contact_id(), "contact_id");
        v.ThrowIfAny();
        *resp = view_->Get(rc, contact_id);
    });
}

}  // namespace crm::support::customer360
