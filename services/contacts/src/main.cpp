// crm-contacts: people, companies, custom fields, duplicate detection and merge, consent, GDPR export and erasure.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService({.name = "contacts",
                                    .grpc_port = 50051,
                                    .metrics_port = 9151,
                                    .uses_database = true,
                                    .uses_kafka = true,
                                    .extra_vars = crm::contacts::ConfigVars(),
                                    .summary = "CRM contacts service: people, companies, custom fields, dedup and "
                                               "merge, consent, GDPR export and erasure"},
                                   argc, argv, [](crm::common::ServiceApp& app) { crm::contacts::Register(app); });
}
