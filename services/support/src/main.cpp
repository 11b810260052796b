// crm-support: customer-service cases across channels with their conversation and assignment.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "support",
                                    .grpc_port = 50055,
                                    .metrics_port = 9155,
                                    .uses_database = true,
                                    .uses_kafka = true,
                                    .extra_vars = crm::support::ConfigVars(),
                                    .summary = "CRM support service: cases across channels, their conversation and "
                                               "assignment"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::support::Register(app); });
}
