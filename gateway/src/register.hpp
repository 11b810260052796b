#pragma once
#include <chrono>
// Wiring of the gateway process: its configuration variables and their translation into ProxySettings. The only
// place that reads configuration.
#include <string>
#include <vector>

#include "crm/common/config.hpp"
#include "http/gateway.hpp"
#include "http/server.hpp"
#include "limits/redis_limiter.hpp"
#include "proxy/proxy.hpp"

namespace crm::common {
class ServiceApp;
}
namespace google::protobuf {
class ServiceDescriptor;
}

namespace crm::gateway {

// CRM_JWT_*, CRM_ROUTES, CRM_GATEWAY_DEFAULT_DEADLINE_MS, CRM_GATEWAY_POLICY_FILE, CRM_RATE_LIMIT_*, CRM_REDIS_*,
// CRM_HTTP_*
// (besides the standard service variables).
std::vector<common::EnvVar> ConfigVars();

// The services whose descriptors are linked into the binary (the ones reflection describes): the policy's exact
// method names are checked against them.
class LinkedDescriptors final : public MethodCatalog {
  public:
    bool HasService(std::string_view service) const override;
    bool HasMethod(std::string_view service, std::string_view method) const override;

  private:
    static const google::protobuf::ServiceDescriptor* Find(std::string_view service);
};

// The unary methods of the linked descriptors whose proto declares `option idempotency_level = NO_SIDE_EFFECTS`
// (or IDEMPOTENT), as "pkg.Service/Method": the only ones the proxy retries (ProxySettings::retryable_methods).
std::vector<std::string> SafeToRetry();

struct GatewaySettings {
    ProxySettings proxy;
    AdmissionSettings admission;  // everything but the limiter, which Register creates from `redis`
    RedisSettings redis;
    std::chrono::milliseconds lease_ttl{1000};       // CRM_RATE_LIMIT_LEASE_MS; 0: every call asks Redis
    std::chrono::milliseconds revocation_ttl{1000};  // CRM_REVOCATION_CACHE_MS
    ApiKeyCacheSettings api_key_cache;
    std::chrono::seconds api_key_flush{30};  // last_use_time batches
    HttpServerSettings http;                 // HTTP/JSON listener (CRM_HTTP_*); listen empty: no HTTP/JSON
    HttpGatewaySettings http_gateway;        // CORS, deadlines of transcoded calls
};

// Validates the gateway variables of a loaded configuration and loads the policy file. Throws common::ConfigError
// listing every problem (the policy's included). Does no network I/O.
GatewaySettings SettingsFromConfig(const common::Config& config);

// Creates the proxy and registers it as the server's generic service (every method the server does not implement
// itself: health and reflection are the gateway's own).
void Register(common::ServiceApp& app);

}  // namespace crm::gateway
