#pragma once
// Statements of the sla area: the tenant's policy, a case's timers and pauses, the scheduler's cross-tenant scan and
// its take of one due timer. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"

namespace crm::support::sla::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT(n) "timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond'"

inline constexpr Sql kGetPolicy{"sla_policy_get", "SELECT body::text, version, " CRM_MICROS(
                                                      "update_time") " FROM sla_policies WHERE tenant_id = $1"};
inline constexpr Sql kGetPolicyForUpdate{
    "sla_policy_get_for_update",
    "SELECT body::text, version, " CRM_MICROS("update_time") " FROM sla_policies WHERE tenant_id = $1 FOR UPDATE"};
inline constexpr Sql kPutPolicy{"sla_policy_put",
                                "INSERT INTO sla_policies (tenant_id, body) VALUES ($1, $2::jsonb) "
                                "ON CONFLICT (tenant_id) DO UPDATE SET body = $2::jsonb, "
                                "version = sla_policies.version + 1, update_time = now() "
                                "RETURNING body::text, version, " CRM_MICROS("update_time")};

// Cases whose clocks a new policy recomputes.
inline constexpr Sql kOpenCases{"sla_open_cases", R"SQL(
SELECT id::text FROM cases WHERE tenant_id = $1 AND status NOT IN ('SOLVED', 'CLOSED', 'MERGED') ORDER BY id)SQL"};

// Columns of a timer, in the order ReadTimer expects.
#define CRM_TIMER_COLUMNS                                                                            \
    "metric, target_seconds, " CRM_MICROS("start_time") ", " CRM_MICROS("due_time") ", " CRM_MICROS( \
        "warn_time") ", " CRM_MICROS("stop_time") ", " CRM_MICROS("warned_time") ", " CRM_MICROS("breached_time")

inline constexpr Sql kTimers{"sla_timers_of_case", "SELECT " CRM_TIMER_COLUMNS
                                                   " FROM sla_timers WHERE tenant_id = $1 AND case_id = $2::uuid "
                                                   "ORDER BY metric"};
inline constexpr Sql kUpsertTimer{
    "sla_timer_upsert",
    "INSERT INTO sla_timers (tenant_id, case_id, metric, target_seconds, start_time, due_time, warn_time, stop_time) "
    "VALUES ($1, $2::uuid, $3, $4, " CRM_AT(5) ", " CRM_AT(6) ", " CRM_AT(7) ", " CRM_AT(
        8) ") ON CONFLICT (tenant_id, case_id, metric) DO UPDATE SET target_seconds = $4, due_time = " CRM_AT(6) ", "
           "warn_time = " CRM_AT(7) ", stop_time = " CRM_AT(8)};
// A clock without a target any more (policy or priority changed) that has not warned yet is dropped; one that warned
// or breached keeps its target (Sync), so its history stays.
inline constexpr Sql kDropTimer{"sla_timer_drop", R"SQL(
DELETE FROM sla_timers WHERE tenant_id = $1 AND case_id = $2::uuid AND metric = $3
   AND warned_time IS NULL AND breached_time IS NULL)SQL"};

inline constexpr Sql kPauses{"sla_pauses_of_case",
                             "SELECT " CRM_MICROS("start_time") ", " CRM_MICROS(
                                 "end_time") " FROM sla_pauses WHERE tenant_id = $1 AND case_id = $2::uuid "
                                             "ORDER BY start_time"};
// Opens a pause unless one is open.
inline constexpr Sql kOpenPause{"sla_pause_open", R"SQL(
INSERT INTO sla_pauses (tenant_id, case_id, start_time)
SELECT $1, $2::uuid, clock_timestamp() WHERE NOT EXISTS (
  SELECT 1 FROM sla_pauses WHERE tenant_id = $1 AND case_id = $2::uuid AND end_time IS NULL))SQL"};
inline constexpr Sql kClosePause{"sla_pause_close", R"SQL(
UPDATE sla_pauses SET end_time = clock_timestamp() WHERE tenant_id = $1 AND case_id = $2::uuid AND end_time IS NULL)SQL"};
// A solved case reopened: the time it spent solved does not count (a closed pause from the solve to now).
inline constexpr Sql kSolvedPause{"sla_pause_solved", "INSERT INTO sla_pauses (tenant_id, case_id, start_time, end_time) "
                                                      "VALUES ($1, $2::uuid, " CRM_AT(3) ", clock_timestamp()) "
                                                      "ON CONFLICT DO NOTHING"};

// A cross-tenant read, allowed only by the maintenance policy for the transaction that sets this.
inline constexpr Sql kMaintenanceOn{"support_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
inline constexpr Sql kDueTimers{"sla_timers_due", R"SQL(
(SELECT tenant_id, case_id::text, metric, 'WARNING' FROM sla_timers
  WHERE warn_time <= now() AND warned_time IS NULL AND stop_time IS NULL ORDER BY warn_time LIMIT $1)
UNION ALL
(SELECT tenant_id, case_id::text, metric, 'BREACH' FROM sla_timers
  WHERE due_time <= now() AND breached_time IS NULL AND stop_time IS NULL ORDER BY due_time LIMIT $1))SQL"};
// The case first (every writer of a case's timers holds the case's row lock), skipped while another transaction has
// it: another replica handles it, or the next scan does.
inline constexpr Sql kLockCase{"sla_lock_case",
                               "SELECT 1 FROM cases WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE SKIP LOCKED"};
// Marks the warning / breach, only while still due and unmarked: once per timer, whatever the number of replicas.
inline constexpr Sql kMarkWarned{"sla_timer_mark_warned", R"SQL(
UPDATE sla_timers SET warned_time = now()
 WHERE tenant_id = $1 AND case_id = $2::uuid AND metric = $3
   AND warn_time <= now() AND warned_time IS NULL AND stop_time IS NULL
RETURNING target_seconds, )SQL" CRM_MICROS("due_time")};
inline constexpr Sql kMarkBreached{"sla_timer_mark_breached", R"SQL(
UPDATE sla_timers SET breached_time = now(), warned_time = COALESCE(warned_time, now())
 WHERE tenant_id = $1 AND case_id = $2::uuid AND metric = $3
   AND due_time <= now() AND breached_time IS NULL AND stop_time IS NULL
RETURNING target_seconds, )SQL" CRM_MICROS("due_time")};

#undef CRM_TIMER_COLUMNS
#undef CRM_AT
#undef CRM_MICROS

}  // namespace crm::support::sla::sql
