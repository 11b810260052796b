#pragma once
// Retention policies (issue 15; proto crm.privacy.v1.RetentionService): each service names its rules — which rows
// age out and how they are deleted or anonymised — and the kit does the rest for every service with a database:
// the tenants' policies (kit table crm_retention_policies), the runs (crm_retention_runs: every run, dry or not),
// the RetentionService API, and a scheduled job that applies the enabled policies (CRM_RETENTION_EVERY_SECONDS).
// Every service also gets the kit's own two rules: its idempotency claims and its processed-event rows.
//
// A rule's statements run in the tenant's transaction (row-level security on) with the parameters
//   count:            $1 tenant, $2 cutoff (microseconds since the epoch), $3 the action ('DELETE' or 'ANONYMISE')
//                                                                                       -> one row, one bigint
//   delete/anonymise: $1 tenant, $2 cutoff, $3 batch size                               -> one row per row touched,
//                                                                                            its id as text
// and must touch only rows whose last change is before the cutoff and that a previous anonymisation did not already
// blank (so a repeated run touches nothing twice). A run works in batches, one transaction each: the batch's rows,
// its RetentionApplied event (with their ids) and its audit row commit together.
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

struct RetentionRule {
    std::string name;           // "unconverted_leads": [a-z][a-z0-9_]*
    std::string description;    // one line for ListRetentionRules
    std::string resource_type;  // "lead"
    int min_age_days = 30;      // policies keep rows at least this long
    Sql count;                  // rows the rule would touch now
    Sql remove;                 // deletes a batch ({nullptr, nullptr}: the rule cannot delete)
    Sql anonymise;              // blanks a batch ({nullptr, nullptr}: the rule cannot anonymise)
};

// The kit's rules, every service with a database has them: idempotency claims (min 1 day) and processed-event rows
// (min 7 days: a redelivered event older than that is not expected; keep it longer than the topics' retention).
std::vector<RetentionRule> KitRetentionRules();

class Retention {
  public:
    Retention(std::string service, Db& db, Outbox& outbox, std::vector<RetentionRule> rules);
    ~Retention();
    Retention(const Retention&) = delete;
    Retention& operator=(const Retention&) = delete;

    // crm.privacy.v1.RetentionService over this service's rules.
    std::shared_ptr<grpc::Service> MakeService(RpcRuntime& rpc);
    // One pass of the scheduled job: every tenant's enabled policies whose last run is older than `every`; returns
    // the rows touched. Safe with several replicas (a policy is claimed with FOR UPDATE SKIP LOCKED).
    std::int64_t RunDue(std::chrono::seconds every);

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::common
