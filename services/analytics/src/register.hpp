#pragma once
// Wiring of the analytics service: configuration, the event consumer that feeds the read models, the gRPC service.
#include <vector>

#include "crm/common/config.hpp"

namespace crm::common {
class ServiceApp;
}

namespace crm::analytics {

std::vector<common::EnvVar> ConfigVars();
void Register(common::ServiceApp& app);

}  // namespace crm::analytics
