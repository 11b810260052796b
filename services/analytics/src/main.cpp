// crm-analytics: read models built from the event streams of the other services; KPIs, time series, replay.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "analytics",
                                    .grpc_port = 50057,
                                    .metrics_port = 9157,
                                    .uses_database = true,
                                    .uses_kafka = true,  // its consumer; it publishes no events of its own
                                    .extra_vars = crm::analytics::ConfigVars(),
                                    .summary = "CRM analytics service: read models from the contacts, leads and sales "
                                               "events; KPIs, time series, rebuild from the log"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::analytics::Register(app); });
}
