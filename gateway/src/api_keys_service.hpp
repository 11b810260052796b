#pragma once
// crm.gateway.v1.ApiKeysService (proto/crm/gateway/v1/api_keys.proto), served by the gateway itself from its own
// database (migrations in gateway/migrations), and the database side of the API key store the admission uses.
// Calls to the service are admitted like proxied calls (admission.hpp: credential, policy, rate limit): the policy
// grants it to admin only. Generated and pqxx headers stay in the .cpp.
#include <chrono>
#include <memory>

#include "admission.hpp"
#include "api_keys.hpp"

namespace grpc {
class Service;
}
namespace crm::common {
class Db;
class Metrics;
}  // namespace crm::common

namespace crm::gateway {

// The store over the gateway database: lookups through api_key_for_auth (the one cross-tenant read), uses written
// by Flush() in one transaction per tenant.
std::shared_ptr<CachedApiKeyStore> MakeApiKeyStore(common::Db& db, ApiKeyCacheSettings settings);

struct ApiKeysServiceSettings {
    // How long a revocation marker stays in Redis: at least the key cache's TTL of every replica, plus a margin.
    std::chrono::seconds revocation_marker_ttl{120};
};

std::shared_ptr<grpc::Service> MakeApiKeysService(ApiKeysServiceSettings settings, common::Db& db,
                                                  std::shared_ptr<const Admission> admission,
                                                  std::shared_ptr<ApiKeyStore> store,
                                                  std::shared_ptr<RateLimiter> limiter);

}  // namespace crm::gateway
