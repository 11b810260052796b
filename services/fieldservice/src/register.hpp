#pragma once
// Wiring of the field-service service into the common service runtime: its configuration and its gRPC service.
#include <vector>

#include "crm/common/config.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::fieldservice {

// The service's own environment variables (listed by --help).
std::vector<common::EnvVar> ConfigVars();

// Reads the settings and registers crm.fieldservice.v1.FieldServiceService. Throws common::ConfigError for an invalid
// setting.
void Register(common::ServiceApp& app);

}  // namespace crm::fieldservice
