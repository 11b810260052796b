#pragma once
// crm.support.v1.CustomerViewService: GetCustomer360 (customer360/handlers.cpp), through the common RPC boundary.
#include <grpcpp/support/status.h>

#include <memory>

#include "crm/support/v1/customer360.grpc.pb.h"

namespace crm::common {
class RpcRuntime;
}

namespace crm::support::customer360 {

class CustomerView;

class CustomerViewService final : public v1::CustomerViewService::Service {
  public:
    CustomerViewService(common::RpcRuntime& rpc, std::shared_ptr<CustomerView> view)
        : rpc_(rpc), view_(std::move(view)) {}

    grpc::Status GetCustomer360(grpc::ServerContext* sc, const v1::GetCustomer360Request* req,
                                v1::GetCustomer360Response* resp) override;

  private:
    common::RpcRuntime& rpc_;
    std::shared_ptr<CustomerView> view_;
};

}  // namespace crm::support::customer360
