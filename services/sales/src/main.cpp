// crm-sales: pipelines, opportunities with stage history, activities and reminders, products, price book, quotes,
// forecast and snapshots.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "sales",
                                    .grpc_port = 50053,
                                    .metrics_port = 9153,
                                    .uses_database = true,
                                    .uses_kafka = true,
                                    .extra_vars = crm::sales::ConfigVars(),
                                    .summary = "CRM sales service: pipelines, opportunities, activities, products, "
                                               "quotes and forecast"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::sales::Register(app); });
}
