#pragma once
// Wiring of the support service into the common service runtime: its configuration, the areas, its gRPC service and
// its consumer of contacts events.
#include <vector>

#include "crm/common/config.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::support {

// The service's own environment variables (listed by --help).
std::vector<common::EnvVar> ConfigVars();

// Reads the settings, builds the areas, registers crm.support.v1.SupportService and the consumer of crm.contacts.v1.
// Throws common::ConfigError for an invalid setting.
void Register(common::ServiceApp& app);

}  // namespace crm::support
