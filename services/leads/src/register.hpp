#pragma once
// Wiring of the leads service into the common service runtime: its configuration, the areas, its gRPC service and its
// SLA scheduler.
#include <vector>

#include "crm/common/config.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::leads {

// The service's own environment variables (listed by --help).
std::vector<common::EnvVar> ConfigVars();

// Reads the settings, builds the areas, registers crm.leads.v1.LeadsService and starts the SLA scheduler with the
// server. Throws common::ConfigError for an invalid setting.
void Register(common::ServiceApp& app);

}  // namespace crm::leads
