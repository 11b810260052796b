#pragma once
// The read statements of the support read model (migrations/0004_support_kpis.sql), in a header so that the
// integration tests can EXPLAIN them as the application role. Include from the support area and tests only (pqxx).
#include "crm/common/db.hpp"

namespace crm::analytics::support::sql {

using common::Sql;

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
#define CRM_CASE_COLUMNS "SELECT case_id::text, version, event_id::text, " CRM_MICROS("occurred_at") ", event_type, " \
    "status, queue_id, assignee_id, " CRM_MICROS("created_at") ", " CRM_MICROS("first_response_at") ", " \
    CRM_MICROS("solved_at") ", " CRM_MICROS("closed_at") ", reopened, breached_clock, fr_sla_target, fr_sla_elapsed, " \
    "fr_sla_stopped, fr_sla_breached, res_sla_target, res_sla_elapsed, res_sla_stopped, res_sla_breached " \
    "FROM analytics_support_case_versions "
#define CRM_CSAT_COLUMNS "SELECT survey_id, case_id::text, event_id::text, " CRM_MICROS("answered_at") ", score, " \
    "agent_id, queue_id FROM analytics_support_csat "

// Every version of the cases whose span [created_at, final_at] meets [$2, $3) (micros): created before $3, and open
// or with an event at or after $2. $2 = min(start, as_of), $3 = max(end, as_of).
// Written as a lateral join fenced by OFFSET 0 (each case's versions by the primary key): with `case_id IN (...)`, or
// a lateral join the planner may flatten, it chose a hash join over a sequential scan of the versions when the tenant
// was most of the table (a fresh database: CI), depending on the sampled statistics.
constexpr Sql kLoadCasesMeeting{"analytics_support_load_cases_meeting",
    "SELECT v.* FROM analytics_support_cases c CROSS JOIN LATERAL (" CRM_CASE_COLUMNS "WHERE tenant_id = $1 "
    "AND case_id = c.case_id OFFSET 0) v WHERE c.tenant_id = $1 AND c.final_at >= " CRM_AT("$2") " AND c.created_at < "
    CRM_AT("$3")};
// CSAT answers in [$2, $3).
constexpr Sql kLoadCsatIn{"analytics_support_load_csat_in",
    CRM_CSAT_COLUMNS "WHERE tenant_id = $1 AND answered_at >= " CRM_AT("$2") " AND answered_at < " CRM_AT("$3")};

// Whole tenant (the rebuild's comparison).
constexpr Sql kLoadCases{"analytics_support_load_cases", CRM_CASE_COLUMNS "WHERE tenant_id = $1"};
constexpr Sql kLoadCsat{"analytics_support_load_csat", CRM_CSAT_COLUMNS "WHERE tenant_id = $1"};
constexpr Sql kLoadSpans{"analytics_support_load_spans",
    "SELECT case_id::text, " CRM_MICROS("created_at") ", last_version, CASE WHEN final_at = 'infinity' THEN NULL ELSE "
    CRM_MICROS("final_at") " END FROM analytics_support_cases WHERE tenant_id = $1"};

#undef CRM_MICROS
#undef CRM_AT
#undef CRM_CASE_COLUMNS
#undef CRM_CSAT_COLUMNS
// clang-format on

}  // namespace crm::analytics::support::sql
