#pragma once
// The crm.sales.v1.SalesService gRPC handlers: request validation (every problem reported at once as field
// violations), the manager-role checks, calls into the repository. No SQL here; every error leaves as a
// crm::common::ApiError through the common RPC boundary.
#include <memory>

namespace grpc {
class Service;
}

namespace crm::common {
class Metrics;
class RpcRuntime;
}  // namespace crm::common

namespace crm::sales::storage {
class Repository;
}

namespace crm::sales::api {

class ContactLinks;

std::shared_ptr<grpc::Service> MakeSalesService(common::RpcRuntime& rpc, common::Metrics& metrics,
                                                std::shared_ptr<storage::Repository> repository,
                                                std::shared_ptr<const ContactLinks> links);

}  // namespace crm::sales::api
