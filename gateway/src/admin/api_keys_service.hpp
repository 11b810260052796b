#pragma once
// crm.gateway.v1.ApiKeysService (proto/crm/gateway/v1/api_keys.proto), served by the gateway itself from its own
// database (migrations in gateway/migrations; the lookups the admission makes are authentication/api_key_storage.hpp).
// Calls to the service are admitted like proxied calls (policy/admission.hpp: credential, policy, rate limit): the
// policy grants it to admin only. Generated and pqxx headers stay in the .cpp.
#include <chrono>
#include <memory>

#include "authentication/api_keys.hpp"
#include "policy/admission.hpp"

namespace grpc {
class Service;
}
namespace crm::common {
class Db;
class Metrics;
}  // namespace crm::common

namespace crm::gateway {

struct ApiKeysServiceSettings {
    // How long a revocation marker stays in Redis: at least the key cache's TTL of every replica, plus a margin.
    std::chrono::seconds revocation_marker_ttl{120};
};

std::shared_ptr<grpc::Service> MakeApiKeysService(ApiKeysServiceSettings settings, common::Db& db,
                                                  std::shared_ptr<const Admission> admission,
                                                  std::shared_ptr<ApiKeyStore> store,
                                                  std::shared_ptr<RateLimiter> limiter);

}  // namespace crm::gateway
