#pragma once
// crm.audit.v1.AuditService for the suite (proto/crm/audit/v1/audit.proto), served by the gateway: each service keeps
// and serves its own audit trail (the kit, common/audit_api.hpp); the gateway answers for one service by asking it,
// or for the whole suite by asking every routed service (and reading its own trail: API keys) in parallel and merging
// their pages newest first. Calls are admitted like proxied calls (the policy grants auditor and admin); the services
// are called with the caller's identity, signed. Generated headers stay in the .cpp.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "policy/admission.hpp"

namespace grpc {
class Channel;
class Service;
}  // namespace grpc
namespace crm::common {
class Db;
}  // namespace crm::common

namespace crm::gateway {

struct AuditBackend {
    std::string service;  // "contacts" (from the route's package crm.contacts.v1)
    std::shared_ptr<grpc::Channel> channel;
};

struct AuditServiceSettings {
    std::string internal_key;                         // signs the identity toward the services
    std::chrono::milliseconds backend_timeout{3000};  // per service, capped by the caller's deadline
};

// The service name of a route's package ("crm.contacts.v1" -> "contacts"); empty when it is not crm.<name>.v1.
std::string ServiceOfPackage(const std::string& package);

std::shared_ptr<grpc::Service> MakeAuditService(AuditServiceSettings settings, common::Db& own_db,
                                                std::shared_ptr<const Admission> admission,
                                                std::vector<AuditBackend> backends);

}  // namespace crm::gateway
