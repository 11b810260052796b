#pragma once
// Named SQL of the opportunities area (opportunities and their stage history). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Optional filters are "($n IS NULL OR col = $n)": statements run unnamed, so PostgreSQL plans them
// with the actual values and the test folds away, leaving index conditions.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sql_time.hpp"

namespace crm::sales::sql {

using common::Sql;

// clang-format off
// The stage's name and category come from scalar subqueries evaluated for the returned rows only: a join would let
// the planner drive from stages and sort the tenant's whole filtered set instead of reading one index in order.
#define CRM_STAGE_OF(col) "(SELECT s." col " FROM stages s WHERE s.tenant_id = o.tenant_id AND s.id = o.stage_id)"
// Column list read by ReadOpportunity, in this order: the description as stored (sealed, migration 0007), and last the
// deal's wrapped data key, which opens it.
#define CRM_OPPORTUNITY_COLUMNS                                                                                     \
    "o.id::text, o.name, o.pipeline_id::text, o.stage_id::text, " CRM_STAGE_OF("name") ", o.probability, "        \
    CRM_STAGE_OF("forecast_category") ", "                                                                         \
    "o.amount_minor, o.currency, coalesce(o.expected_close_date::text, ''), o.owner_id, "                          \
    "coalesce(o.contact_id::text, ''), coalesce(o.company_id::text, ''), o.source_campaign_id, " \
    "coalesce(o.lead_id::text, ''), o.description, o.status, o.lost_reason, " CRM_MICROS("o.stage_enter_time") ", " \
    CRM_MICROS("o.create_time") ", " CRM_MICROS("o.update_time") ", " CRM_MICROS("o.close_time") ", "             \
    CRM_MICROS("o.delete_time") ", o.version, coalesce(o.accepted_quote_id::text, ''), "                           \
    CRM_SUBJECT_KEY_COLUMN("o.tenant_id", "o.id::text")
inline constexpr Sql kGetOpportunity{"sales_opportunity_get",
    "SELECT " CRM_OPPORTUNITY_COLUMNS " FROM opportunities o WHERE o.tenant_id = $1 AND o.id = $2::uuid"};
inline constexpr Sql kGetOpportunityForUpdate{"sales_opportunity_get_for_update",
    "SELECT " CRM_OPPORTUNITY_COLUMNS " FROM opportunities o WHERE o.tenant_id = $1 AND o.id = $2::uuid FOR UPDATE"};
// A new deal with its first stage_history row (seq 1: $16 stage name, $17 forecast category, $18 changed_by), read
// back as CRM_OPPORTUNITY_COLUMNS: one statement where there were three (insert, history, read).
inline constexpr Sql kInsertOpportunity{"sales_opportunity_insert",
    "WITH o AS (INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, amount_minor, "
    "currency, expected_close_date, owner_id, contact_id, company_id, source_campaign_id, lead_id, description) VALUES "
    "($1, $2::uuid, $3, $4::uuid, $5::uuid, $6, $7, $8, $9::date, $10, $11::uuid, $12::uuid, $13, $14::uuid, "
    "$15) RETURNING *),"
    " h AS (INSERT INTO stage_history (tenant_id, opportunity_id, seq, stage_id, stage_name, forecast_category, "
    "probability, enter_time, changed_by) SELECT o.tenant_id, o.id, 1, o.stage_id, $16, $17, o.probability, now(), $18 "
    "FROM o) "
    "SELECT " CRM_OPPORTUNITY_COLUMNS " FROM o"};
// The deal an earlier CreateOpportunity with this request_id created: the claim common::ClaimRequest wrote, read
// before the links are checked so that a retry returns the first deal without calling contacts again.
inline constexpr Sql kCreatedByRequest{"sales_opportunity_created_by_request",
    "SELECT resource_id::text FROM idempotency_keys WHERE tenant_id = $1 AND operation = 'CreateOpportunity' "
    "AND request_id = $2"};
// Optimistic write of the editable columns ($13 = expected version, $14 = version step).
inline constexpr Sql kWriteOpportunity{"sales_opportunity_write",
    "UPDATE opportunities SET name = $3, probability = $4, amount_minor = $5, expected_close_date = $6::date, "
    "owner_id = $7, contact_id = $8::uuid, company_id = $9::uuid, source_campaign_id = $10, "
    "lead_id = $11::uuid, description = $12, accepted_quote_id = $15::uuid, version = version + $14, "
    "update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $13 RETURNING id"};
inline constexpr Sql kMoveOpportunity{"sales_opportunity_move",
    "UPDATE opportunities SET stage_id = $3::uuid, probability = $4, status = $5, lost_reason = $6, "
    "amount_minor = $7, stage_enter_time = now(), close_time = CASE WHEN $5 = 'OPEN' THEN NULL ELSE now() END, "
    "version = version + $9, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $8 RETURNING id"};
inline constexpr Sql kDeleteOpportunity{"sales_opportunity_delete",
    "UPDATE opportunities SET delete_time = now(), version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid"};
#define CRM_OPPORTUNITY_FILTERS                                                                                     \
    " WHERE o.tenant_id = $1 AND ($2::uuid IS NULL OR o.pipeline_id = $2::uuid)"                                   \
    " AND ($3::uuid IS NULL OR o.stage_id = $3::uuid) AND ($4::text IS NULL OR o.owner_id = $4::text)"              \
    " AND ($5::text IS NULL OR o.status = $5::text)"                                                               \
    " AND ($6::date IS NULL OR o.expected_close_date >= $6::date)"                                                 \
    " AND ($7::date IS NULL OR o.expected_close_date <= $7::date) AND ($8 OR o.delete_time IS NULL)"                \
    " AND ($9::uuid IS NULL OR o.contact_id = $9::uuid) AND ($10::uuid IS NULL OR o.company_id = $10::uuid)"
inline constexpr Sql kListOpportunities{"sales_opportunity_list",
    "SELECT " CRM_OPPORTUNITY_COLUMNS " FROM opportunities o " CRM_OPPORTUNITY_FILTERS
    " AND (o.create_time, o.id) > (" CRM_AT_MICROS("$11") ", $12::uuid) ORDER BY o.create_time, o.id LIMIT $13"};
inline constexpr Sql kListOpportunitiesByClose{"sales_opportunity_list_by_close",
    "SELECT " CRM_OPPORTUNITY_COLUMNS " FROM opportunities o " CRM_OPPORTUNITY_FILTERS
    " AND o.expected_close_date IS NOT NULL AND (o.expected_close_date, o.id) > ($11::date, $12::uuid)"
    " ORDER BY o.expected_close_date, o.id LIMIT $13"};
#undef CRM_OPPORTUNITY_FILTERS
#undef CRM_OPPORTUNITY_COLUMNS
#undef CRM_STAGE_OF
// Open, non-deleted opportunities per stage of a pipeline (index opportunities_tenant_stage).
inline constexpr Sql kOpenPerStage{"sales_stage_open_counts",
    "SELECT stage_id::text, count(*) FROM opportunities WHERE tenant_id = $1 AND pipeline_id = $2::uuid "
    "AND stage_id = ANY($3::uuid[]) AND status = 'OPEN' AND delete_time IS NULL GROUP BY stage_id"};
inline constexpr Sql kOpenInStage{"sales_stage_open_opportunities",
    "SELECT id::text FROM opportunities WHERE tenant_id = $1 AND pipeline_id = $2::uuid AND stage_id = $3::uuid "
    "AND status = 'OPEN' AND delete_time IS NULL ORDER BY create_time, id FOR UPDATE"};

inline constexpr Sql kInsertHistory{"sales_history_insert",
    "INSERT INTO stage_history (tenant_id, opportunity_id, seq, stage_id, stage_name, forecast_category, probability, "
    "enter_time, changed_by) SELECT $1, $2::uuid, coalesce(max(seq), 0) + 1, $3::uuid, $4, $5, $6, now(), $7 "
    "FROM stage_history WHERE tenant_id = $1 AND opportunity_id = $2::uuid"};
inline constexpr Sql kCloseHistory{"sales_history_close",
    "UPDATE stage_history SET exit_time = now() WHERE tenant_id = $1 AND opportunity_id = $2::uuid "
    "AND exit_time IS NULL"};
inline constexpr Sql kListHistory{"sales_history_list",
    "SELECT stage_id::text, stage_name, forecast_category, probability, " CRM_MICROS("enter_time") ", "
    CRM_MICROS("exit_time") ", floor(extract(epoch FROM coalesce(exit_time, now()) - enter_time))::bigint, "
    "changed_by FROM stage_history WHERE tenant_id = $1 AND opportunity_id = $2::uuid ORDER BY seq"};
// clang-format on

}  // namespace crm::sales::sql
