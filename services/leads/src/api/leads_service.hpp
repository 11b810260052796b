#pragma once
// The crm.leads.v1.LeadsService gRPC handlers: request validation, proto <-> domain mapping, calls into the repository
// and, for ConvertLead, into the contacts and sales services. No SQL here; errors leave as crm::common::ApiError
// through the common RPC boundary.
#include <chrono>
#include <memory>
#include <string>

#include "crm/common/tls.hpp"

namespace grpc {
class Service;
}

namespace crm::common {
class Metrics;
class RpcRuntime;
}  // namespace crm::common

namespace crm::leads::storage {
class Repository;
}

namespace crm::leads::api {

struct Settings {
    std::string internal_key;       // signs the identity of outbound calls
    std::string form_token_key;     // signs web-form tokens
    std::string contacts_addr;      // host:port of crm.contacts.v1
    std::string sales_addr;         // host:port of crm.sales.v1 ("" = opportunities cannot be created)
    common::TlsFiles upstream_tls;  // empty = plaintext calls to contacts and sales
    std::chrono::milliseconds call_timeout{5000};
    std::string failpoint;  // test only: "convert_after_contacts" exits the process after the contacts calls
};

std::shared_ptr<grpc::Service> MakeLeadsService(common::RpcRuntime& rpc, common::Metrics& metrics,
                                                std::shared_ptr<storage::Repository> repository, Settings settings);

}  // namespace crm::leads::api
