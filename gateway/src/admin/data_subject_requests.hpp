#pragma once
// crm.privacy.v1.DataSubjectRequestService (proto/crm/privacy/v1/subject.proto), served by the gateway: a request is
// recorded in the gateway's database (migrations/0002_data_subject_requests.sql) and a worker takes it through every
// routed service's SubjectDataService: the person's identity resolved to a fixed point, then each service's export or
// erasure, one recorded step per service. A service that is down or answers UNAVAILABLE (its events about the person
// not yet relayed) is asked again with backoff; a request is leased for a while by the replica working on it, so a
// crash of that replica only delays it. When every service is done, the receipt is signed (receipt_signer.hpp).
// Generated headers stay in the .cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admin/audit_service.hpp"
#include "admin/receipt_signer.hpp"
#include "policy/admission.hpp"

namespace grpc {
class Service;
}
namespace crm::common {
class Db;
class Metrics;
}  // namespace crm::common

namespace crm::gateway {

struct DataSubjectSettings {
    std::string internal_key;                          // signs the worker's identity toward the services
    std::chrono::milliseconds backend_timeout{10000};  // per call to a service
    std::chrono::seconds max_backoff{10};              // between attempts of a request that could not finish
    std::chrono::seconds lease{120};                   // a replica's claim on a request it works on
    std::chrono::hours export_keep{24 * 30};           // an export's document is kept this long after completion
};

class DataSubjectRequests {
  public:
    DataSubjectRequests(DataSubjectSettings settings, common::Db& db, std::shared_ptr<const Admission> admission,
                        std::vector<AuditBackend> backends, ReceiptSigner signer);
    ~DataSubjectRequests();
    DataSubjectRequests(const DataSubjectRequests&) = delete;
    DataSubjectRequests& operator=(const DataSubjectRequests&) = delete;

    // The gRPC service; `wake` is called when a request was started (to run the worker at once).
    std::shared_ptr<grpc::Service> MakeService(std::function<void()> wake);
    // One pass of the worker over the due requests of every tenant; returns how many completed. With ExportMetrics,
    // it also refreshes crm_gateway_dsr_unfinished_requests and crm_gateway_dsr_oldest_unfinished_seconds.
    int RunDue();
    void ExportMetrics(common::Metrics& metrics);

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::gateway
