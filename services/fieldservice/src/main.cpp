// crm-fieldservice: work orders, technicians, appointments without double booking, nearest qualified candidates,
// parts inventory.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "fieldservice",
                                    .grpc_port = 50056,
                                    .metrics_port = 9156,
                                    .uses_database = true,
                                    .uses_kafka = true,
                                    .extra_vars = crm::fieldservice::ConfigVars(),
                                    .summary = "CRM field-service service: work orders, technicians, dispatch without "
                                               "double booking, parts inventory"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::fieldservice::Register(app); });
}
