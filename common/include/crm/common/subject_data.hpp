#pragma once
// Data-subject requests (issue 15; proto crm.privacy.v1.SubjectDataService): each service names, per kind of record
// it holds about a person, how to find them, export them and erase them; the kit serves the API for every service
// with a database (the gateway's DataSubjectRequestService calls it, see proto/crm/privacy/v1/subject.proto), runs
// each call in one transaction of the caller's tenant, remembers an erasure's counts per request id (kit table
// crm_subject_erasures), and purges the relayed outbox rows of the aggregates an erasure changed. An erasure whose
// aggregates still have events waiting for the broker answers UNAVAILABLE and is asked again later: nothing about the
// person is left in the outbox once it completes, and no event is lost.
//
// Include from a service's register.cpp and its subject-data area only (pqxx).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crm/common/db.hpp"

namespace grpc {
class Service;
}

namespace crm::common {

class Outbox;
class RpcRuntime;
struct RequestContext;

// The person: ids and e-mails (lower case) the suite knows them by.
struct Subject {
    std::vector<std::string> contact_ids;  // UUIDs
    std::vector<std::string> lead_ids;     // UUIDs
    std::vector<std::string> emails;       // lower case
};

// Everything a handler may use: the tenant's transaction (row-level security on), the caller (tenant, request id)
// and, for an erasure, the service's outbox (events announcing the erasure go there, in the same transaction).
struct SubjectCall {
    pqxx::work& tx;
    const RequestContext& rc;
    Db& db;
    Outbox& outbox;
};

struct SubjectExport {
    std::int64_t count = 0;
    std::string json;  // a JSON array of the records ("[]" when none)
};

struct SubjectErasure {
    std::int64_t count = 0;                  // records changed (0 when a repeated erasure found nothing left)
    std::vector<std::string> aggregate_ids;  // outbox aggregates whose relayed events are purged
};

struct SubjectHandler {
    std::string resource_type;  // "lead", "activity", ...
    // Optional: adds the ids and e-mails this service links to the subject (keep the vectors free of duplicates:
    // AddUnique).
    std::function<void(SubjectCall&, Subject&)> resolve;
    std::function<SubjectExport(SubjectCall&, const Subject&)> export_records;
    // Blanks or deletes the personal fields of the subject's records, keeping ids, tombstones, amounts and times.
    // Idempotent: a second run finds nothing left to change.
    std::function<SubjectErasure(SubjectCall&, const Subject&)> erase;
};

// Appends `value` to `to` unless it is there already; returns whether it was added.
bool AddUnique(std::vector<std::string>& to, const std::string& value);

// The subject's ids and e-mails as statement parameters: {contact_ids, lead_ids, emails} as text[] literals.
struct SubjectParams {
    std::string contact_ids;
    std::string lead_ids;
    std::string emails;
};
SubjectParams ParamsOf(const Subject& subject);

class SubjectData {
  public:
    SubjectData(std::string service, Db& db, Outbox& outbox, std::vector<SubjectHandler> handlers);
    ~SubjectData();
    SubjectData(const SubjectData&) = delete;
    SubjectData& operator=(const SubjectData&) = delete;

    // crm.privacy.v1.SubjectDataService over this service's handlers.
    std::shared_ptr<grpc::Service> MakeService(RpcRuntime& rpc);

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::common
