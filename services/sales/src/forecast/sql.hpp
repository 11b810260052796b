#pragma once
// Named SQL of the forecast area (forecasts over the opportunities, snapshots and their scheduler). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy, except the snapshot scheduler's discovery, which runs under the read-only scheduler policy.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::sales::sql {

using common::Sql;

// clang-format off
// $2 currency, $3/$4 first/last day of the period, $5 pipeline (or NULL), $6 owner (or NULL). The stage's category
// comes from a scalar subquery evaluated for the deals found (index opportunities_forecast_open).
#define CRM_FORECAST_SELECT                                                                                         \
    "SELECT o.owner_id, o.amount_minor, o.probability, (SELECT s.forecast_category FROM stages s "                 \
    "WHERE s.tenant_id = o.tenant_id AND s.id = o.stage_id), o.status FROM opportunities o "                        \
    "WHERE o.tenant_id = $1 AND o.currency = $2 AND o.delete_time IS NULL"                                          \
    " AND ($5::uuid IS NULL OR o.pipeline_id = $5::uuid) AND ($6::text IS NULL OR o.owner_id = $6::text)"
inline constexpr Sql kForecastOpen{"sales_forecast_open",
    CRM_FORECAST_SELECT " AND o.status = 'OPEN' AND o.expected_close_date BETWEEN $3::date AND $4::date"};
inline constexpr Sql kForecastClosed{"sales_forecast_closed",
    CRM_FORECAST_SELECT " AND o.status <> 'OPEN' AND o.close_time >= " CRM_UTC_DAY("$3::date")
    " AND o.close_time < " CRM_UTC_DAY("$4::date + 1")};
#undef CRM_FORECAST_SELECT

inline constexpr Sql kNowMicros{"sales_now", "SELECT " CRM_MICROS("now()")};
inline constexpr Sql kInsertSnapshot{"sales_snapshot_insert",
    "INSERT INTO forecast_snapshots (tenant_id, id, period_type, period_start, period_end, currency, take_time, "
    "trigger, body) VALUES ($1, $2::uuid, $3, $4::date, $5::date, $6, " CRM_AT_MICROS("$7") ", $8, $9::jsonb)"};
inline constexpr Sql kGetSnapshot{"sales_snapshot_get",
    "SELECT id::text, body::text FROM forecast_snapshots WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kListSnapshots{"sales_snapshot_list",
    "SELECT id::text, body::text FROM forecast_snapshots WHERE tenant_id = $1 AND period_type = $2 "
    "AND period_start = $3::date AND currency = $4 AND (take_time, id) < (" CRM_AT_MICROS("$5") ", $6::uuid) "
    "ORDER BY take_time DESC, id DESC LIMIT $7"};

// Snapshot scheduler: the tenants (discovery under crm.scheduler = 'on'), one replica per tenant at a time, today.
inline constexpr Sql kSnapshotsSchedulerOn{"sales_scheduler_on", "SELECT set_config('crm.scheduler', 'on', true)"};
inline constexpr Sql kListSalesTenants{"sales_tenants_list", "SELECT tenant_id FROM sales_tenants ORDER BY tenant_id"};
inline constexpr Sql kTryTenantLock{"sales_try_lock", "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"};
inline constexpr Sql kTodayDays{"sales_today", "SELECT (now() AT TIME ZONE 'UTC')::date - DATE '1970-01-01'"};
// The currencies with open or won deals in the period.
inline constexpr Sql kPeriodCurrencies{"sales_snapshot_currencies",
    "SELECT DISTINCT currency FROM opportunities WHERE tenant_id = $1 AND delete_time IS NULL AND "
    "((status = 'OPEN' AND expected_close_date BETWEEN $2::date AND $3::date) OR (status = 'WON' AND close_time >= "
    CRM_UTC_DAY("$2::date") " AND close_time < " CRM_UTC_DAY("$3::date + 1") "))"};
inline constexpr Sql kRecentScheduledSnapshot{"sales_snapshot_recent",
    "SELECT 1 FROM forecast_snapshots WHERE tenant_id = $1 AND period_type = $2 AND period_start = $3::date "
    "AND currency = $4 AND trigger = 'scheduled' AND take_time > now() - $5::bigint * interval '1 second' LIMIT 1"};
// clang-format on

}  // namespace crm::sales::sql
