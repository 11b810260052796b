#pragma once
// Wiring of the marketing service into the common service runtime: its configuration, the areas, its gRPC service
// and its event consumers.
#include <vector>

#include "crm/common/config.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::marketing {

// The service's own environment variables (listed by --help).
std::vector<common::EnvVar> ConfigVars();

// Reads the settings, builds the areas and registers crm.marketing.v1.MarketingService. Throws common::ConfigError
// for an invalid setting.
void Register(common::ServiceApp& app);

}  // namespace crm::marketing
