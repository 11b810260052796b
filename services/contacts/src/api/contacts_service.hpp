#pragma once
// The crm.contacts.v1.ContactsService gRPC handlers: request validation, proto <-> domain mapping, calls into the
// repository. No SQL here; every error leaves as a crm::common::ApiError through the common RPC boundary.
#include <memory>

#include "domain/records.hpp"

namespace grpc {
class Service;
}

namespace crm::common {
class Metrics;
class RpcRuntime;
}  // namespace crm::common

namespace crm::contacts::storage {
class Repository;
}

namespace crm::contacts::api {

// The service keeps `repository` alive for as long as it lives.
std::shared_ptr<grpc::Service> MakeContactsService(common::RpcRuntime& rpc, common::Metrics& metrics,
                                                   std::shared_ptr<storage::Repository> repository,
                                                   domain::NormalizeSettings settings);

}  // namespace crm::contacts::api
