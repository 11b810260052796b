#pragma once
// Wiring of the gateway process: its configuration variables and their translation into ProxySettings. The only
// place that reads configuration.
#include <vector>

#include "crm/common/config.hpp"
#include "proxy.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::gateway {

// CRM_JWT_*, CRM_ROUTES, CRM_GATEWAY_DEFAULT_DEADLINE_MS, CRM_REDIS_URL (besides the standard service variables).
std::vector<common::EnvVar> ConfigVars();

// Validates the gateway variables of a loaded configuration. Throws common::ConfigError listing every problem.
ProxySettings SettingsFromConfig(const common::Config& config);

// Creates the proxy and registers it as the server's generic service (every method the server does not implement
// itself: health and reflection are the gateway's own).
void Register(common::ServiceApp& app);

}  // namespace crm::gateway
