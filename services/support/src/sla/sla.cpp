#include "sla/sla.hpp"

#include <google/protobuf/util/time_util.h>

#include <map>

#include "cases/cases.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/resource.hpp"
#include "crm/support/events/v1/events.pb.h"
#include "sla/sql.hpp"

namespace crm::support::sla {
namespace {

namespace ev1 = crm::support::events::v1;
using google::protobuf::util::TimeUtil;

constexpr std::int64_t kMicros = 1'000'000;
constexpr domain::SlaMetric kMetrics[] = {domain::SlaMetric::kFirstResponse, domain::SlaMetric::kResolution};

struct Timer {
    domain::SlaMetric metric = domain::SlaMetric::kFirstResponse;
    std::int64_t target = 0;
    std::int64_t start = 0;  // micros
    std::optional<std::int64_t> due, warn, stop, warned, breached;
};

std::optional<std::int64_t> Micros(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

std::map<domain::SlaMetric, Timer> LoadTimers(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                              const std::string& case_id) {
    std::map<domain::SlaMetric, Timer> out;
    for (const auto& r : db.Exec(tx, sql::kTimers, tenant, case_id)) {
        Timer t;
        t.metric = domain::ParseSlaMetric(r[0].as<std::string>()).value_or(domain::SlaMetric::kFirstResponse);
        t.target = r[1].as<std::int64_t>();
        t.start = r[2].as<std::int64_t>();
        t.due = Micros(r[3]);
        t.warn = Micros(r[4]);
        t.stop = Micros(r[5]);
        t.warned = Micros(r[6]);
        t.breached = Micros(r[7]);
        out[t.metric] = t;
    }
    return out;
}

// Pauses in whole seconds (start rounded down, end up), an open one with kOpenEnd.
std::vector<common::TimeSpan> LoadPauses(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                         const std::string& case_id) {
    std::vector<common::TimeSpan> out;
    for (const auto& r : db.Exec(tx, sql::kPauses, tenant, case_id)) {
        const std::int64_t start = r[0].as<std::int64_t>() / kMicros;
        const auto end = Micros(r[1]);
        out.push_back({start, end ? (*end + kMicros - 1) / kMicros : common::kOpenEnd});
    }
    return out;
}

std::string Text(const std::optional<std::int64_t>& micros) { return micros ? std::to_string(*micros) : ""; }

google::protobuf::Timestamp Ts(std::int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); }

v1::SlaMetric MetricProto(domain::SlaMetric m) {
    return m == domain::SlaMetric::kFirstResponse ? v1::SLA_METRIC_FIRST_RESPONSE : v1::SLA_METRIC_RESOLUTION;
}

v1::EscalationAction ActionProto(domain::EscalationAction a) {
    switch (a) {
        case domain::EscalationAction::kReassign:
            return v1::ESCALATION_ACTION_REASSIGN;
        case domain::EscalationAction::kRaisePriority:
            return v1::ESCALATION_ACTION_RAISE_PRIORITY;
        case domain::EscalationAction::kNotify:
            return v1::ESCALATION_ACTION_NOTIFY;
    }
    return v1::ESCALATION_ACTION_NOTIFY;
}

// When a clock stopped, as the case says (micros), or nothing while it runs.
std::optional<std::int64_t> StopOf(const v1::Case& c, domain::SlaMetric metric) {
    if (cases::StatusOf(c.status()) == domain::Status::kMerged) {
        return TimeUtil::TimestampToMicroseconds(c.update_time());  // a tombstone has no clocks running
    }
    if (metric == domain::SlaMetric::kFirstResponse) {
        if (c.has_first_response_time()) return TimeUtil::TimestampToMicroseconds(c.first_response_time());
        return std::nullopt;
    }
    const domain::Status s = cases::StatusOf(c.status());
    if (s != domain::Status::kSolved && s != domain::Status::kClosed && s != domain::Status::kMerged) {
        return std::nullopt;
    }
    if (c.has_solve_time()) return TimeUtil::TimestampToMicroseconds(c.solve_time());
    return TimeUtil::TimestampToMicroseconds(c.update_time());
}

}  // namespace

void Sync(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::Case& c) {
    const domain::Status status = cases::StatusOf(c.status());
    if (domain::IsPaused(status)) {
        db.Exec(tx, sql::kOpenPause, tenant, c.id());
    } else {
        db.Exec(tx, sql::kClosePause, tenant, c.id());
    }
    const Policy policy = LoadPolicy(db, tx, tenant);
    if (!policy.calendar) return;
    const auto timers = LoadTimers(db, tx, tenant, c.id());
    const auto target = domain::TargetFor(policy.rules, cases::PriorityOf(c.priority()), c.customer_tier());
    const std::int64_t start = TimeUtil::TimestampToMicroseconds(c.create_time());
    for (const domain::SlaMetric metric : kMetrics) {
        const char* name = domain::SlaMetricText(metric);
        std::int64_t seconds = target ? domain::TargetSeconds(*target, metric) : 0;
        const auto existing = timers.find(metric);
        if (seconds <= 0 && existing != timers.end() && (existing->second.warned || existing->second.breached)) {
            seconds = existing->second.target;  // escalated clocks keep running on the target they had
        }
        if (seconds <= 0) {
            if (existing != timers.end()) db.Exec(tx, sql::kDropTimer, tenant, c.id(), name);
            continue;
        }
        std::optional<std::int64_t> stop = StopOf(c, metric);
        if (existing != timers.end() && existing->second.stop) {
            if (stop) {
                stop = existing->second.stop;  // stopped once: the first stop counts
            } else if (metric == domain::SlaMetric::kResolution) {
                // Reopened: the time it spent solved does not count.
                db.Exec(tx, sql::kSolvedPause, tenant, c.id(), *existing->second.stop);
            }
        }
        std::optional<std::int64_t> due, warn;
        if (!stop) {
            const auto pauses = LoadPauses(db, tx, tenant, c.id());
            const std::int64_t from = start / kMicros;
            if (auto at = common::AddBusinessSeconds(*policy.calendar, from, seconds, pauses)) due = *at * kMicros;
            const std::int64_t warn_after = domain::WarningSeconds(seconds, policy.rules.warning_percent);
            if (warn_after > 0) {
                if (auto at = common::AddBusinessSeconds(*policy.calendar, from, warn_after, pauses)) {
                    warn = *at * kMicros;
                }
            }
        }
        db.Exec(tx, sql::kUpsertTimer, tenant, c.id(), name, seconds, start, common::NullIfEmpty(Text(due)),
                common::NullIfEmpty(Text(warn)), common::NullIfEmpty(Text(stop)));
    }
}

Sla::Sla(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

v1::SlaPolicy Sla::GetPolicy(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadPolicy(db_, tx, rc.tenant_id).proto; });
}

v1::SlaPolicy Sla::UpdatePolicy(const common::RequestContext& rc, const v1::SlaPolicy& policy) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result current = db_.Exec(tx, sql::kGetPolicyForUpdate, rc.tenant_id);
        common::CheckEtag(policy.etag(), current.empty() ? 0 : current[0][1].as<std::int64_t>());
        v1::SlaPolicy stored = policy;
        stored.clear_etag();
        db_.Exec(tx, sql::kPutPolicy, rc.tenant_id, PolicyJson(stored));
        // The clocks of open cases follow the new policy (each case locked as any writer of its timers does).
        for (const auto& row : db_.Exec(tx, sql::kOpenCases, rc.tenant_id)) {
            Sync(db_, tx, rc.tenant_id, cases::LoadCase(db_, tx, rc.tenant_id, row[0].as<std::string>(), true));
        }
        return LoadPolicy(db_, tx, rc.tenant_id).proto;
    });
}

std::vector<v1::SlaClock> Clocks(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                 const std::string& case_id) {
    std::vector<v1::SlaClock> out;
    const auto timers = LoadTimers(db, tx, tenant, case_id);
    if (timers.empty()) return out;
    const Policy policy = LoadPolicy(db, tx, tenant);
    const auto pauses = LoadPauses(db, tx, tenant, case_id);
    const bool paused = !pauses.empty() && pauses.back().end == common::kOpenEnd;
    const std::int64_t now = cases::NowMicros();
    for (const auto& [metric, t] : timers) {
        v1::SlaClock& clock = out.emplace_back();
        clock.set_metric(MetricProto(metric));
        clock.set_target_seconds(t.target);
        const std::int64_t end = (t.stop ? *t.stop : now) / kMicros;
        const std::int64_t elapsed =
            policy.calendar ? common::BusinessSecondsBetween(*policy.calendar, t.start / kMicros, end, pauses) : 0;
        clock.set_elapsed_seconds(elapsed);
        clock.set_remaining_seconds(t.target - elapsed);
        if (t.due) *clock.mutable_due_time() = Ts(*t.due);
        if (t.warn) *clock.mutable_warning_time() = Ts(*t.warn);
        if (t.warned) *clock.mutable_warned_time() = Ts(*t.warned);
        if (t.breached) *clock.mutable_breached_time() = Ts(*t.breached);
        if (t.stop) *clock.mutable_stop_time() = Ts(*t.stop);
        if (t.breached || (t.stop && elapsed > t.target)) {
            clock.set_state(v1::SLA_CLOCK_STATE_BREACHED);
        } else if (t.stop) {
            clock.set_state(v1::SLA_CLOCK_STATE_MET);
        } else if (paused) {
            clock.set_state(v1::SLA_CLOCK_STATE_PAUSED);
        } else {
            clock.set_state(v1::SLA_CLOCK_STATE_RUNNING);
        }
    }
    return out;
}

v1::GetSlaStatusResponse Sla::Status(const common::RequestContext& rc, const std::string& case_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        cases::LoadCase(db_, tx, rc.tenant_id, case_id);  // NOT_FOUND for an unknown case
        const Policy policy = LoadPolicy(db_, tx, rc.tenant_id);
        v1::GetSlaStatusResponse out;
        out.set_case_id(case_id);
        out.set_time_zone(policy.proto.calendar().time_zone());
        for (const auto& r : db_.Exec(tx, sql::kPauses, rc.tenant_id, case_id)) {
            auto* p = out.add_paused_intervals();
            *p->mutable_start_time() = Ts(r[0].as<std::int64_t>());
            if (!r[1].is_null()) *p->mutable_end_time() = Ts(r[1].as<std::int64_t>());
        }
        for (auto& clock : Clocks(db_, tx, rc.tenant_id, case_id)) *out.add_clocks() = std::move(clock);
        return out;
    });
}

std::vector<DueTimer> Sla::DueTimers(int limit) {
    return db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kMaintenanceOn);
        std::vector<DueTimer> due;
        for (const auto& row : db_.Exec(tx, sql::kDueTimers, limit)) {
            due.push_back(
                {.tenant = row[0].as<std::string>(),
                 .case_id = row[1].as<std::string>(),
                 .metric = domain::ParseSlaMetric(row[2].as<std::string>()).value_or(domain::SlaMetric::kFirstResponse),
                 .stage =
                     row[3].as<std::string>() == "BREACH" ? domain::SlaStage::kBreach : domain::SlaStage::kWarning});
        }
        return due;
    });
}

Sla::Fired Sla::Fire(const DueTimer& timer) {
    return db_.InTenant(timer.tenant, [&](pqxx::work& tx) {
        Fired result;
        if (db_.Exec(tx, sql::kLockCase, timer.tenant, timer.case_id).empty()) return result;  // busy elsewhere
        const bool breach = timer.stage == domain::SlaStage::kBreach;
        const char* metric = domain::SlaMetricText(timer.metric);
        const pqxx::result marked =
            db_.Exec(tx, breach ? sql::kMarkBreached : sql::kMarkWarned, timer.tenant, timer.case_id, metric);
        if (marked.empty()) return result;  // handled already, or no longer due
        result.fired = true;
        v1::Case c = cases::LoadCase(db_, tx, timer.tenant, timer.case_id, true);
        const std::int64_t expected = c.version();
        const Policy policy = LoadPolicy(db_, tx, timer.tenant);
        cases::EventBatch batch;
        const std::int64_t target = marked[0][0].as<std::int64_t>();
        const auto due = Micros(marked[0][1]);
        if (breach) {
            auto& e = batch.Add<ev1::SlaBreached>();
            e.set_metric(MetricProto(timer.metric));
            e.set_target_seconds(target);
            if (due) *e.mutable_due_time() = Ts(*due);
        } else {
            auto& e = batch.Add<ev1::SlaWarning>();
            e.set_metric(MetricProto(timer.metric));
            e.set_target_seconds(target);
            if (due) *e.mutable_due_time() = Ts(*due);
        }
        for (const auto& rule : domain::RulesFor(policy.rules, timer.metric, timer.stage)) {
            auto& e = batch.Add<ev1::CaseEscalated>();
            e.set_metric(MetricProto(timer.metric));
            e.set_stage(breach ? v1::SLA_STAGE_BREACH : v1::SLA_STAGE_WARNING);
            e.set_action(ActionProto(rule.action));
            e.set_previous_assignee_id(c.assignee_id());
            e.set_previous_priority(c.priority());
            if (rule.action == domain::EscalationAction::kReassign) c.set_assignee_id(rule.assignee_id);
            if (rule.action == domain::EscalationAction::kRaisePriority) {
                c.set_priority(cases::PriorityProto(domain::Raised(cases::PriorityOf(c.priority()))));
            }
            result.actions.push_back(rule.action);
        }
        const v1::Case written = cases::WriteCase(db_, tx, timer.tenant, c, batch.size(), expected);
        batch.Append(db_, outbox_, tx, timer.tenant, "", written);
        return result;
    });
}

}  // namespace crm::support::sla
