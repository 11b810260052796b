// crm-marketing: campaigns, cost lines and tracked links.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "marketing",
                                    .grpc_port = 50054,
                                    .metrics_port = 9154,
                                    .uses_database = true,
                                    .uses_kafka = true,
                                    .extra_vars = crm::marketing::ConfigVars(),
                                    .summary = "CRM marketing service: campaigns with costs and tracked links"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::marketing::Register(app); });
}
