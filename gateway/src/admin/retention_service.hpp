#pragma once
// crm.privacy.v1.RetentionService for the suite (proto/crm/privacy/v1/retention.proto), served by the gateway: each
// service keeps its own retention rules, policies and runs (the kit, common/retention.hpp); the gateway forwards each
// call to the service the request names, with the caller's identity signed, and passes its answer or its error (field
// violations included) back unchanged. Calls are admitted like proxied calls (the policy grants privacy_officer and
// admin). Generated headers stay in the .cpp.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "admin/audit_service.hpp"
#include "policy/admission.hpp"

namespace crm::gateway {

struct RetentionServiceSettings {
    std::string internal_key;                          // signs the identity toward the services
    std::chrono::milliseconds backend_timeout{30000};  // a run deletes in batches: longer than a read
};

// backends: the routed services (as for the audit trail).
std::shared_ptr<grpc::Service> MakeRetentionService(RetentionServiceSettings settings,
                                                    std::shared_ptr<const Admission> admission,
                                                    std::vector<AuditBackend> backends);

}  // namespace crm::gateway
