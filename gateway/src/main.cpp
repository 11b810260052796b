// crm-gateway: the single entry point of client traffic. Authenticates (JWT), routes by gRPC service name and
// proxies calls to the backend services; health and reflection are its own.
#include "crm/common/service.hpp"
#include "register.hpp"

int main(int argc, char** argv) {
    return crm::common::RunService(
        {.name = "gateway",
         .grpc_port = 50050,
         .metrics_port = 9150,
         .uses_database = true,  // API keys (gateway/migrations)
         .uses_kafka = false,
         .serves_audit_trail = false,  // the suite's AuditService (admin/audit_service.hpp) instead
         .serves_retention = false,    // the suite's RetentionService (admin/retention_service.hpp) instead
         .extra_vars = crm::gateway::ConfigVars(),
         .summary = "CRM API gateway: JWT and API key authentication, authorization, rate limits, routing, proxy"},
        argc, argv, [](crm::common::ServiceApp& app) { crm::gateway::Register(app); });
}
