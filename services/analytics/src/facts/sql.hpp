#pragma once
// The read statements of the read models (named SQL, see crm/common/db.hpp), in a header so that the integration
// tests can EXPLAIN them as the application role (tests/integration/analytics_explain_test.cpp). Include from the facts
// area and tests only (pqxx).
#include "crm/common/db.hpp"

namespace crm::analytics::facts::sql {

using common::Sql;

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_RECORD_COLUMNS "SELECT kind, record_id::text, version, event_id::text, " CRM_MICROS("occurred_at") ", " \
    CRM_MICROS("created_at") ", " CRM_MICROS("deleted_at") " FROM analytics_record_versions "
#define CRM_LEAD_COLUMNS "SELECT lead_id::text, version, event_id::text, " CRM_MICROS("occurred_at") ", source, " \
    "campaign_id, owner_id, status, " CRM_MICROS("created_at") ", " CRM_MICROS("first_response_at") ", " \
    CRM_MICROS("response_due_at") ", " CRM_MICROS("converted_at") " FROM analytics_lead_versions "
#define CRM_OPPORTUNITY_COLUMNS "SELECT opportunity_id::text, version, event_id::text, " CRM_MICROS("occurred_at") \
    ", pipeline_id, stage_id, stage_name, probability_bp, status, amount_minor, currency_code, owner_id, " \
    CRM_MICROS("expected_close_at") ", " CRM_MICROS("created_at") ", " CRM_MICROS("closed_at") ", " \
    CRM_MICROS("deleted_at") ", lead_id, source, campaign_id FROM analytics_opportunity_versions "

constexpr Sql kLoadRecords{"analytics_load_records", CRM_RECORD_COLUMNS "WHERE tenant_id = $1"};
constexpr Sql kLoadLeads{"analytics_load_leads", CRM_LEAD_COLUMNS "WHERE tenant_id = $1"};
constexpr Sql kLoadOpportunities{"analytics_load_opportunities", CRM_OPPORTUNITY_COLUMNS "WHERE tenant_id = $1"};

// Incremental reads (migrations/0003_incremental_reads.sql). A row is visible at a point (snapshot `snap` with
// xmin `xmin`) when its transaction is older than xmin or the snapshot counts it as committed. Comparisons on
// tenant_id and xact_id are leakproof, so the (tenant_id, xact_id) index serves them under row-level security; the
// visibility function is only a filter on the rows the index range returns.
#define CRM_VISIBLE_AT(xmin, snap) \
    "(xact_id < " xmin " OR pg_visible_in_snapshot(xact_id::text::xid8, " snap "::pg_snapshot))"
// Visible at the point `snap` and not at the earlier point (`since_xmin`, `since_snap`).
#define CRM_NEW_SINCE(since_xmin, since_snap, snap)                                                        \
    "tenant_id = $1 AND xact_id >= " since_xmin " AND NOT pg_visible_in_snapshot(xact_id::text::xid8, " \
    since_snap "::pg_snapshot) AND pg_visible_in_snapshot(xact_id::text::xid8, " snap "::pg_snapshot)"
#define CRM_POINT                                                                                                  \
    "pg_current_snapshot()::text, pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "                        \
    "coalesce((SELECT generation FROM analytics_tenant_generations WHERE tenant_id = $1), 0), "                   \
    "concat_ws(',', pg_relation_filenode('analytics_record_versions'), pg_relation_filenode('analytics_lead_versions'), " \
    "pg_relation_filenode('analytics_opportunity_versions'))"
#define CRM_ANY_NEW(table) \
    "EXISTS (SELECT 1 FROM " table " WHERE tenant_id = $1 AND xact_id >= $2 AND NOT pg_visible_in_snapshot(xact_id::text::xid8, $3::pg_snapshot))"

constexpr Sql kNow{"analytics_read_point", "SELECT " CRM_POINT};
constexpr Sql kNowSince{"analytics_read_point_since", "SELECT " CRM_POINT ", "
    CRM_ANY_NEW("analytics_record_versions") ", " CRM_ANY_NEW("analytics_lead_versions") ", "
    CRM_ANY_NEW("analytics_opportunity_versions")};

constexpr Sql kLoadRecordsAt{"analytics_load_records_at",
    CRM_RECORD_COLUMNS "WHERE tenant_id = $1 AND " CRM_VISIBLE_AT("$2", "$3")};
constexpr Sql kLoadLeadsAt{"analytics_load_leads_at",
    CRM_LEAD_COLUMNS "WHERE tenant_id = $1 AND " CRM_VISIBLE_AT("$2", "$3")};
constexpr Sql kLoadOpportunitiesAt{"analytics_load_opportunities_at",
    CRM_OPPORTUNITY_COLUMNS "WHERE tenant_id = $1 AND " CRM_VISIBLE_AT("$2", "$3")};

// $1 tenant, $2/$3 the earlier point (xmin, snapshot), $4/$5 the current one.
constexpr Sql kLoadRecordsChanged{"analytics_load_records_changed",
    CRM_RECORD_COLUMNS "WHERE tenant_id = $1 AND " CRM_VISIBLE_AT("$4", "$5") " AND (kind, record_id) IN "
    "(SELECT kind, record_id FROM analytics_record_versions WHERE " CRM_NEW_SINCE("$2", "$3", "$5") ")"};
constexpr Sql kLoadLeadsChanged{"analytics_load_leads_changed",
    CRM_LEAD_COLUMNS "WHERE tenant_id = $1 AND " CRM_VISIBLE_AT("$4", "$5") " AND lead_id IN "
    "(SELECT lead_id FROM analytics_lead_versions WHERE " CRM_NEW_SINCE("$2", "$3", "$5") ")"};
constexpr Sql kLoadOpportunitiesChanged{"analytics_load_opportunities_changed",
    CRM_OPPORTUNITY_COLUMNS "WHERE tenant_id = $1 AND " CRM_VISIBLE_AT("$4", "$5") " AND opportunity_id IN "
    "(SELECT opportunity_id FROM analytics_opportunity_versions WHERE " CRM_NEW_SINCE("$2", "$3", "$5") ")"};

#undef CRM_MICROS
#undef CRM_RECORD_COLUMNS
#undef CRM_LEAD_COLUMNS
#undef CRM_OPPORTUNITY_COLUMNS
#undef CRM_VISIBLE_AT
#undef CRM_NEW_SINCE
#undef CRM_POINT
#undef CRM_ANY_NEW
// clang-format on

}  // namespace crm::analytics::facts::sql
