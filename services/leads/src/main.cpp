// crm-leads: lead capture (API, import, web forms), lifecycle, scoring, assignment and SLA, conversion.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "leads",
                                    .grpc_port = 50052,
                                    .metrics_port = 9152,
                                    .uses_database = true,
                                    .uses_kafka = true,
                                    .extra_vars = crm::leads::ConfigVars(),
                                    .summary = "CRM leads service: capture, lifecycle, scoring, assignment and SLA, "
                                               "conversion to contacts and opportunities"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::leads::Register(app); });
}
