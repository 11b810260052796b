#pragma once
// Wiring of the sales service into the common service runtime: its configuration, its gRPC service, its scheduler.
#include <vector>

#include "crm/common/config.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::sales {

// The service's own environment variables (listed by --help).
std::vector<common::EnvVar> ConfigVars();

// Reads the settings, registers crm.sales.v1.SalesService and starts the reminder and snapshot scheduler with the
// app. Throws common::ConfigError for an invalid setting.
void Register(common::ServiceApp& app);

}  // namespace crm::sales
