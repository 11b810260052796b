#pragma once
// The sla area: the tenant's SLA policy (business calendar, targets, warning share, escalation rules), the case's
// durable SLA timers in PostgreSQL (kept in step with every write of a case by Sync), their status (GetSlaStatus), and
// what the scheduler does with a due timer (a warning or a breach, with its escalations, once).
#include <crm/support/v1/support.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/common/business_hours.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"
#include "domain/sla.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::support::sla {

namespace v1 = crm::support::v1;

// A policy as stored (proto) and as the rules use it; calendar is empty when the tenant has no policy.
struct Policy {
    v1::SlaPolicy proto;
    domain::SlaRules rules;
    std::optional<common::BusinessCalendar> calendar;
};

// The policy's checks (every problem named under "sla_policy."), and its rules and calendar when there is none.
Policy CheckedPolicy(const v1::SlaPolicy& policy, common::Violations& violations);
Policy LoadPolicy(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant);
// The stored form of a policy (JSON with the proto's field names).
std::string PolicyJson(const v1::SlaPolicy& policy);

// Keeps a case's timers and pauses in step with the case as just written (cases::InsertCase and cases::WriteCase
// call it in their transaction, with the case's row locked): opens a pause when the case waits (PENDING_CUSTOMER,
// ON_HOLD) and closes it when it resumes; a reopened case does not count the time it spent solved; each clock gets its
// target for the case's priority and tier, its due and warning instants in business time (none while paused), and
// stops at the first public reply (first response) or the solve (resolution).
void Sync(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& c);

// The case's clocks as GetSlaStatus reports them (business seconds of the tenant's calendar, now for a running
// clock), metric order; empty when the case has no timers (no policy, or no target for it). In the caller's
// transaction: events of a write carry them (cases::EventBatch) after Sync.
std::vector<v1::SlaClock> Clocks(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                 const std::string& case_id);

struct DueTimer {
    std::string tenant, case_id;
    domain::SlaMetric metric = domain::SlaMetric::kFirstResponse;
    domain::SlaStage stage = domain::SlaStage::kWarning;
};

class Sla {
  public:
    Sla(common::Db& db, common::Outbox& outbox);

    v1::SlaPolicy GetPolicy(const common::RequestContext& rc);
    // policy: checked (CheckedPolicy). Recomputes the clocks of the tenant's open cases.
    v1::SlaPolicy UpdatePolicy(const common::RequestContext& rc, const v1::SlaPolicy& policy);
    v1::GetSlaStatusResponse Status(const common::RequestContext& rc, const std::string& case_id);

    // Warnings and breaches that are due, across tenants (a maintenance read).
    std::vector<DueTimer> DueTimers(int limit);
    // Handles one due timer in its tenant: marks it (once), publishes SlaWarning or SlaBreached and executes the
    // stage's escalation rules (CaseEscalated each; REASSIGN and RAISE_PRIORITY change the case). fired is false when
    // another replica or transaction had it, or it is no longer due.
    struct Fired {
        bool fired = false;
        std::vector<domain::EscalationAction> actions;
    };
    Fired Fire(const DueTimer& timer);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

}  // namespace crm::support::sla
