#pragma once
// The sequence runner: one background thread per replica that takes due enrolments (the durable timers in
// sequence_enrolments) and runs their steps. Safe with many replicas and across crashes:
// - an enrolment is claimed FOR UPDATE SKIP LOCKED in its tenant's transaction, so no two replicas run it at once;
// - its steps run in that transaction until a wait (its timer is set) or the end: the step's records, the message it
//   queues for the sender, its list membership, its events and the enrolment's next step commit together. A crash
//   before the commit (failpoint "marketing.sequence.before_commit") leaves the enrolment due: the step runs again,
//   once; after the commit it never runs again (sequence_step_runs has one row per enrolment and step);
// - calls to the leads service (record an engagement, change a status) carry an idempotency key of the enrolment and
//   step (record) or set a state (status), so running a step again after a crash changes nothing there twice; when
//   leads is unavailable the enrolment is postponed (retry_after) and nothing of the step is kept.
#include <chrono>
#include <memory>
#include <string>

#include "crm/common/scheduler.hpp"
#include "crm/common/tls.hpp"

namespace prometheus {
class Counter;
template <class T>
class Family;
}  // namespace prometheus

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::sequences {

struct RunnerSettings {
    std::chrono::milliseconds tick{500};
    int batch = 200;  // enrolments per tenant and round
    std::string leads_addr;
    common::TlsFiles leads_tls;
    std::string internal_key;  // signs the identity of calls to leads
    std::chrono::milliseconds call_timeout{5000};
    std::chrono::milliseconds retry_after{30000};  // an enrolment whose step could not reach leads
};

class LeadsCaller;

class Runner {
  public:
    Runner(common::Db& db, common::Outbox& outbox, common::Metrics& metrics, RunnerSettings settings);
    ~Runner();
    void Start();
    void Stop();  // idempotent; finishes the enrolment in hand
    // One round (tests and the thread): run the due enrolments of every tenant that has some.
    void RunRound();

  private:
    bool RunOne(const std::string& tenant);  // false when the tenant has no due enrolment left

    common::Db& db_;
    common::Outbox& outbox_;
    RunnerSettings settings_;
    std::unique_ptr<LeadsCaller> leads_;
    prometheus::Family<prometheus::Counter>& steps_;
    common::Scheduler runner_;  // last: its thread uses the members above
};

}  // namespace crm::marketing::sequences
