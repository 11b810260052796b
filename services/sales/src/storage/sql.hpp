#pragma once
// Named SQL of the sales repository. The names label crm_db_query_duration_seconds{query}. Every statement filters by
// tenant_id = $1 in addition to the row-level security policy (except the schedulers' discovery statements, which
// run under the read-only scheduler policy). Times travel as microseconds since the epoch (bigint), dates as
// "YYYY-MM-DD" text. Optional filters are "($n IS NULL OR col = $n)": statements run unnamed, so PostgreSQL plans
// them with the actual values and the test folds away, leaving index conditions.
#include "crm/common/db.hpp"

namespace crm::sales::storage::sql {

using common::Sql;

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT_MICROS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
#define CRM_UTC_DAY(param) "((" param ")::timestamp AT TIME ZONE 'UTC')"

// --- idempotency, tenants, scheduler ----------------------------------------------------------------------------------
inline constexpr Sql kClaimRequest{"sales_idempotency_claim", R"SQL(
INSERT INTO idempotency_keys (tenant_id, operation, request_id, resource_id) VALUES ($1, $2, $3, $4::uuid)
ON CONFLICT DO NOTHING RETURNING resource_id::text)SQL"};
inline constexpr Sql kClaimedResource{"sales_idempotency_get", R"SQL(
SELECT resource_id::text FROM idempotency_keys WHERE tenant_id = $1 AND operation = $2 AND request_id = $3)SQL"};
inline constexpr Sql kEnsureTenant{"sales_tenant_ensure",
    "INSERT INTO sales_tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING"};
inline constexpr Sql kSchedulerOn{"sales_scheduler_on", "SELECT set_config('crm.scheduler', 'on', true)"};
inline constexpr Sql kListSalesTenants{"sales_tenants_list", "SELECT tenant_id FROM sales_tenants ORDER BY tenant_id"};
inline constexpr Sql kTryTenantLock{"sales_try_lock", "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"};
inline constexpr Sql kTodayDays{"sales_today", "SELECT (now() AT TIME ZONE 'UTC')::date - DATE '1970-01-01'"};
inline constexpr Sql kNowMicros{"sales_now", "SELECT " CRM_MICROS("now()")};

// --- pipelines ---------------------------------------------------------------------------------------------------------
#define CRM_PIPELINE_COLUMNS \
    "p.id::text, p.name, p.is_default, p.version, " CRM_MICROS("p.create_time") ", " CRM_MICROS("p.update_time")
inline constexpr Sql kGetPipeline{"sales_pipeline_get",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1 AND p.id = $2::uuid"};
inline constexpr Sql kGetPipelineForUpdate{"sales_pipeline_get_for_update",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1 AND p.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kGetDefaultPipeline{"sales_pipeline_get_default",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1 AND p.is_default"};
inline constexpr Sql kInsertPipeline{"sales_pipeline_insert",
    "INSERT INTO pipelines (tenant_id, id, name, create_time, update_time) "
    "VALUES ($1, $2::uuid, $3, clock_timestamp(), clock_timestamp()) RETURNING id"};
// Race-safe default: concurrent first uses meet on the partial unique index; the loser inserts nothing. Pipelines
// take clock_timestamp() so that the default one, created first in the same transaction, also lists first.
inline constexpr Sql kInsertDefaultPipeline{"sales_pipeline_insert_default",
    "INSERT INTO pipelines (tenant_id, id, name, is_default, create_time, update_time) "
    "VALUES ($1, $2::uuid, $3, true, clock_timestamp(), clock_timestamp()) "
    "ON CONFLICT (tenant_id) WHERE is_default DO NOTHING RETURNING id"};
inline constexpr Sql kTouchPipeline{"sales_pipeline_touch",
    "UPDATE pipelines SET name = $3, version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kListPipelines{"sales_pipeline_list",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1"
    " AND (p.create_time, p.id) > (" CRM_AT_MICROS("$2") ", $3::uuid) ORDER BY p.create_time, p.id LIMIT $4"};
inline constexpr Sql kInsertStage{"sales_stage_insert",
    "INSERT INTO stages (tenant_id, id, pipeline_id, position, name, probability, forecast_category) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7)"};
inline constexpr Sql kUpdateStage{"sales_stage_update",
    "UPDATE stages SET name = $3, probability = $4, forecast_category = $5, position = $6 "
    "WHERE tenant_id = $1 AND id = $2::uuid AND archive_time IS NULL"};
// Moves the current stages of a pipeline out of the way (positions + 100) so that the final positions can be set one
// stage at a time without meeting the unique index on the positions of current stages.
inline constexpr Sql kShiftStages{"sales_stages_shift",
    "UPDATE stages SET position = position + 100 WHERE tenant_id = $1 AND pipeline_id = $2::uuid "
    "AND archive_time IS NULL"};
inline constexpr Sql kArchiveStage{"sales_stage_archive",
    "UPDATE stages SET archive_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND archive_time IS NULL"};
// Current stages first (by position), then the archived ones (oldest removal first).
inline constexpr Sql kStagesOf{"sales_stages_of",
    "SELECT id::text, name, position, probability, forecast_category, " CRM_MICROS("archive_time") " FROM stages "
    "WHERE tenant_id = $1 AND pipeline_id = $2::uuid ORDER BY archive_time NULLS FIRST, position"};
inline constexpr Sql kGetStage{"sales_stage_get",
    "SELECT id::text, name, pipeline_id::text, probability, forecast_category, archive_time IS NOT NULL FROM stages "
    "WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kStageByCategory{"sales_stage_by_category",
    "SELECT id::text, name, probability FROM stages WHERE tenant_id = $1 AND pipeline_id = $2::uuid "
    "AND forecast_category = $3 AND archive_time IS NULL ORDER BY position LIMIT 1"};
inline constexpr Sql kFirstStage{"sales_stage_first",
    "SELECT id::text, name, probability, forecast_category FROM stages WHERE tenant_id = $1 "
    "AND pipeline_id = $2::uuid AND archive_time IS NULL ORDER BY position LIMIT 1"};
// Serializes opportunity moves and creates with UpdatePipeline (which holds the pipeline FOR UPDATE): a deal cannot
// enter a stage while the stage is being removed. Share locks do not block each other.
inline constexpr Sql kLockPipelineShared{"sales_pipeline_lock_shared",
    "SELECT 1 FROM pipelines WHERE tenant_id = $1 AND id = $2::uuid FOR SHARE"};
// Open, non-deleted opportunities per stage of a pipeline (index opportunities_tenant_stage).
inline constexpr Sql kOpenPerStage{"sales_stage_open_counts",
    "SELECT stage_id::text, count(*) FROM opportunities WHERE tenant_id = $1 AND pipeline_id = $2::uuid "
    "AND stage_id = ANY($3::uuid[]) AND status = 'OPEN' AND delete_time IS NULL GROUP BY stage_id"};
inline constexpr Sql kOpenInStage{"sales_stage_open_opportunities",
    "SELECT id::text FROM opportunities WHERE tenant_id = $1 AND pipeline_id = $2::uuid AND stage_id = $3::uuid "
    "AND status = 'OPEN' AND delete_time IS NULL ORDER BY create_time, id FOR UPDATE"};

// --- opportunities -----------------------------------------------------------------------------------------------------
// The stage's name and category come from scalar subqueries evaluated for the returned rows only: a join would let
// the planner drive from stages and sort the tenant's whole filtered set instead of reading one index in order.
#define CRM_STAGE_OF(col) "(SELECT s." col " FROM stages s WHERE s.tenant_id = o.tenant_id AND s.id = o.stage_id)"
#define CRM_OPPORTUNITY_FROM " FROM opportunities o "
// Column list read by ReadOpportunity, in this order.
#define CRM_OPPORTUNITY_COLUMNS                                                                                     \
    "o.id::text, o.name, o.pipeline_id::text, o.stage_id::text, " CRM_STAGE_OF("name") ", o.probability, "        \
    CRM_STAGE_OF("forecast_category") ", "                                                                         \
    "o.amount_minor, o.currency, coalesce(o.expected_close_date::text, ''), o.owner_id, "                          \
    "coalesce(o.contact_id::text, ''), coalesce(o.company_id::text, ''), o.source_campaign_id, " \
    "coalesce(o.lead_id::text, ''), o.description, o.status, o.lost_reason, " CRM_MICROS("o.stage_enter_time") ", " \
    CRM_MICROS("o.create_time") ", " CRM_MICROS("o.update_time") ", " CRM_MICROS("o.close_time") ", "             \
    CRM_MICROS("o.delete_time") ", o.version, coalesce(o.accepted_quote_id::text, '')"
inline constexpr Sql kGetOpportunity{"sales_opportunity_get",
    "SELECT " CRM_OPPORTUNITY_COLUMNS CRM_OPPORTUNITY_FROM "WHERE o.tenant_id = $1 AND o.id = $2::uuid"};
inline constexpr Sql kGetOpportunityForUpdate{"sales_opportunity_get_for_update",
    "SELECT " CRM_OPPORTUNITY_COLUMNS CRM_OPPORTUNITY_FROM "WHERE o.tenant_id = $1 AND o.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kInsertOpportunity{"sales_opportunity_insert",
    "INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, amount_minor, currency, "
    "expected_close_date, owner_id, contact_id, company_id, source_campaign_id, lead_id, description) VALUES "
    "($1, $2::uuid, $3, $4::uuid, $5::uuid, $6, $7, $8, $9::date, $10, $11::uuid, $12::uuid, $13, $14::uuid, "
    "$15)"};
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
    "SELECT " CRM_OPPORTUNITY_COLUMNS CRM_OPPORTUNITY_FROM CRM_OPPORTUNITY_FILTERS
    " AND (o.create_time, o.id) > (" CRM_AT_MICROS("$11") ", $12::uuid) ORDER BY o.create_time, o.id LIMIT $13"};
inline constexpr Sql kListOpportunitiesByClose{"sales_opportunity_list_by_close",
    "SELECT " CRM_OPPORTUNITY_COLUMNS CRM_OPPORTUNITY_FROM CRM_OPPORTUNITY_FILTERS
    " AND o.expected_close_date IS NOT NULL AND (o.expected_close_date, o.id) > ($11::date, $12::uuid)"
    " ORDER BY o.expected_close_date, o.id LIMIT $13"};
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

// --- activities --------------------------------------------------------------------------------------------------------
#define CRM_ACTIVITY_COLUMNS                                                                                        \
    "a.id::text, a.type, a.subject, a.description, coalesce(a.lead_id::text, ''), coalesce(a.contact_id::text, ''), " \
    "coalesce(a.company_id::text, ''), coalesce(a.opportunity_id::text, ''), " CRM_MICROS("a.due_time") ", "      \
    CRM_MICROS("a.remind_time") ", a.owner_id, a.status, " CRM_MICROS("a.complete_time") ", a.outcome, "          \
    CRM_MICROS("a.reminder_sent_time") ", " CRM_MICROS("a.create_time") ", " CRM_MICROS("a.update_time") ", a.version"
inline constexpr Sql kGetActivity{"sales_activity_get",
    "SELECT " CRM_ACTIVITY_COLUMNS " FROM activities a WHERE a.tenant_id = $1 AND a.id = $2::uuid"};
inline constexpr Sql kGetActivityForUpdate{"sales_activity_get_for_update",
    "SELECT " CRM_ACTIVITY_COLUMNS " FROM activities a WHERE a.tenant_id = $1 AND a.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kInsertActivity{"sales_activity_insert",
    "INSERT INTO activities (tenant_id, id, type, subject, description, lead_id, contact_id, company_id, "
    "opportunity_id, due_time, remind_time, remind_at, owner_id) VALUES ($1, $2::uuid, $3, $4, $5, $6::uuid, "
    "$7::uuid, $8::uuid, $9::uuid, " CRM_AT_MICROS("$10") ", " CRM_AT_MICROS("$11") ", coalesce("
    CRM_AT_MICROS("$11") ", " CRM_AT_MICROS("$10") "), $12)"};
// $8 = re-arm the reminder (due or remind time changed).
inline constexpr Sql kWriteActivity{"sales_activity_write",
    "UPDATE activities SET subject = $3, description = $4, owner_id = $5, due_time = " CRM_AT_MICROS("$6") ", "
    "remind_time = " CRM_AT_MICROS("$7") ", remind_at = CASE WHEN $8 THEN coalesce(" CRM_AT_MICROS("$7") ", "
    CRM_AT_MICROS("$6") ") ELSE remind_at END, reminder_sent_time = CASE WHEN $8 THEN NULL ELSE reminder_sent_time "
    "END, version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $9 "
    "RETURNING id"};
inline constexpr Sql kCompleteActivity{"sales_activity_complete",
    "UPDATE activities SET status = 'COMPLETED', complete_time = now(), outcome = $3, remind_at = NULL, "
    "version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
#define CRM_TIMELINE(col)                                                                                           \
    "SELECT " CRM_ACTIVITY_COLUMNS " FROM activities a WHERE a.tenant_id = $1 AND a." col " = $2::uuid"            \
    " AND (a.create_time, a.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY a.create_time DESC, a.id DESC LIMIT $5"
inline constexpr Sql kTimelineLead{"sales_timeline_lead", CRM_TIMELINE("lead_id")};
inline constexpr Sql kTimelineContact{"sales_timeline_contact", CRM_TIMELINE("contact_id")};
inline constexpr Sql kTimelineCompany{"sales_timeline_company", CRM_TIMELINE("company_id")};
inline constexpr Sql kTimelineOpportunity{"sales_timeline_opportunity", CRM_TIMELINE("opportunity_id")};
// Scheduler discovery (crm.scheduler = 'on'): activities whose reminder is due, oldest first, across tenants.
inline constexpr Sql kDueActivities{"sales_reminders_due",
    "SELECT tenant_id, id::text FROM activities WHERE remind_at <= now() AND status = 'OPEN' "
    "ORDER BY remind_at LIMIT $1"};
// Claims due rows of one tenant (rows another replica holds are skipped), marks them and returns them.
inline constexpr Sql kClaimDueActivities{"sales_reminders_claim",
    "WITH due AS (SELECT id FROM activities WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND remind_at <= now() "
    "AND status = 'OPEN' FOR UPDATE SKIP LOCKED) "
    "UPDATE activities a SET remind_at = NULL, reminder_sent_time = now(), version = a.version + 1, "
    "update_time = now() FROM due WHERE a.tenant_id = $1 AND a.id = due.id RETURNING " CRM_ACTIVITY_COLUMNS};

// --- products and price book -------------------------------------------------------------------------------------------
#define CRM_PRODUCT_COLUMNS                                                                                         \
    "p.id::text, p.name, p.sku, p.description, p.active, " CRM_MICROS("p.create_time") ", "                        \
    CRM_MICROS("p.update_time") ", p.version"
inline constexpr Sql kGetProduct{"sales_product_get",
    "SELECT " CRM_PRODUCT_COLUMNS " FROM products p WHERE p.tenant_id = $1 AND p.id = $2::uuid"};
inline constexpr Sql kGetProductForUpdate{"sales_product_get_for_update",
    "SELECT " CRM_PRODUCT_COLUMNS " FROM products p WHERE p.tenant_id = $1 AND p.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kInsertProduct{"sales_product_insert",
    "INSERT INTO products (tenant_id, id, name, sku, description, active) VALUES ($1, $2::uuid, $3, $4, $5, $6)"};
inline constexpr Sql kWriteProduct{"sales_product_write",
    "UPDATE products SET name = $3, sku = $4, description = $5, active = $6, version = version + 1, "
    "update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kBumpProduct{"sales_product_bump",
    "UPDATE products SET version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid "
    "RETURNING version"};
inline constexpr Sql kListProducts{"sales_product_list",
    "SELECT " CRM_PRODUCT_COLUMNS " FROM products p WHERE p.tenant_id = $1 AND (NOT $2 OR p.active)"
    " AND (p.create_time, p.id) > (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY p.create_time, p.id LIMIT $5"};
#define CRM_ENTRY_COLUMNS "product_id::text, currency, unit_price_minor, " CRM_MICROS("update_time")
inline constexpr Sql kGetPriceBookEntry{"sales_price_get",
    "SELECT " CRM_ENTRY_COLUMNS " FROM price_book_entries WHERE tenant_id = $1 AND product_id = $2::uuid "
    "AND currency = $3"};
inline constexpr Sql kUpsertPriceBookEntry{"sales_price_set",
    "INSERT INTO price_book_entries (tenant_id, product_id, currency, unit_price_minor) VALUES ($1, $2::uuid, $3, $4) "
    "ON CONFLICT (tenant_id, product_id, currency) DO UPDATE SET unit_price_minor = EXCLUDED.unit_price_minor, "
    "update_time = now() RETURNING " CRM_ENTRY_COLUMNS};
inline constexpr Sql kListPriceBookEntries{"sales_price_list",
    "SELECT " CRM_ENTRY_COLUMNS " FROM price_book_entries WHERE tenant_id = $1 "
    "AND ($2::uuid IS NULL OR product_id = $2::uuid) AND ($3::text IS NULL OR currency = $3::text) "
    "AND (product_id, currency) > ($4::uuid, $5::text) ORDER BY product_id, currency LIMIT $6"};

// --- quotes ------------------------------------------------------------------------------------------------------------
#define CRM_QUOTE_COLUMNS                                                                                           \
    "q.id::text, q.opportunity_id::text, q.title, q.currency, q.line_items::text, q.subtotal_minor, "              \
    "q.discount_minor, q.net_minor, q.tax_minor, q.total_minor, q.max_discount_percent, q.status, q.approved_by, " \
    "q.rejection_reason, coalesce(q.valid_until::text, ''), " CRM_MICROS("q.create_time") ", "                     \
    CRM_MICROS("q.update_time") ", q.version"
inline constexpr Sql kGetQuote{"sales_quote_get",
    "SELECT " CRM_QUOTE_COLUMNS " FROM quotes q WHERE q.tenant_id = $1 AND q.id = $2::uuid"};
inline constexpr Sql kGetQuoteForUpdate{"sales_quote_get_for_update",
    "SELECT " CRM_QUOTE_COLUMNS " FROM quotes q WHERE q.tenant_id = $1 AND q.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kInsertQuote{"sales_quote_insert",
    "INSERT INTO quotes (tenant_id, id, opportunity_id, title, currency, line_items, subtotal_minor, discount_minor, "
    "net_minor, tax_minor, total_minor, max_discount_percent, valid_until) VALUES ($1, $2::uuid, $3::uuid, $4, $5, "
    "$6::jsonb, $7, $8, $9, $10, $11, $12, $13::date)"};
inline constexpr Sql kWriteQuote{"sales_quote_write",
    "UPDATE quotes SET title = $3, line_items = $4::jsonb, subtotal_minor = $5, discount_minor = $6, net_minor = $7, "
    "tax_minor = $8, total_minor = $9, max_discount_percent = $10, valid_until = $11::date, version = version + 1, "
    "update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kSetQuoteStatus{"sales_quote_status",
    "UPDATE quotes SET status = $3, approved_by = $4, rejection_reason = $5, version = version + 1, "
    "update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $6 RETURNING id"};
inline constexpr Sql kListQuotes{"sales_quote_list",
    "SELECT " CRM_QUOTE_COLUMNS " FROM quotes q WHERE q.tenant_id = $1 AND $2::uuid IS NULL"
    " AND (q.create_time, q.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY q.create_time DESC, q.id DESC LIMIT $5"};
inline constexpr Sql kListQuotesOfOpportunity{"sales_quote_list_of_opportunity",
    "SELECT " CRM_QUOTE_COLUMNS " FROM quotes q WHERE q.tenant_id = $1 AND q.opportunity_id = $2::uuid"
    " AND (q.create_time, q.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY q.create_time DESC, q.id DESC LIMIT $5"};

// --- settings ----------------------------------------------------------------------------------------------------------
inline constexpr Sql kGetSettings{"sales_settings_get",
    "SELECT discount_threshold_percent, version, " CRM_MICROS("update_time") " FROM sales_settings "
    "WHERE tenant_id = $1"};
inline constexpr Sql kGetSettingsForUpdate{"sales_settings_get_for_update",
    "SELECT discount_threshold_percent, version, " CRM_MICROS("update_time") " FROM sales_settings "
    "WHERE tenant_id = $1 FOR UPDATE"};
inline constexpr Sql kUpsertSettings{"sales_settings_set",
    "INSERT INTO sales_settings AS s (tenant_id, discount_threshold_percent) VALUES ($1, $2) "
    "ON CONFLICT (tenant_id) DO UPDATE SET discount_threshold_percent = EXCLUDED.discount_threshold_percent, "
    "version = s.version + 1, update_time = now() "
    "RETURNING discount_threshold_percent, version, " CRM_MICROS("update_time")};

// --- forecast ----------------------------------------------------------------------------------------------------------
// $2 currency, $3/$4 first/last day of the period, $5 pipeline (or NULL), $6 owner (or NULL).
#define CRM_FORECAST_SELECT                                                                                         \
    "SELECT o.owner_id, o.amount_minor, o.probability, " CRM_STAGE_OF("forecast_category") ", o.status"          \
    CRM_OPPORTUNITY_FROM                                                                                           \
    "WHERE o.tenant_id = $1 AND o.currency = $2 AND o.delete_time IS NULL"                                        \
    " AND ($5::uuid IS NULL OR o.pipeline_id = $5::uuid) AND ($6::text IS NULL OR o.owner_id = $6::text)"
inline constexpr Sql kForecastOpen{"sales_forecast_open",
    CRM_FORECAST_SELECT " AND o.status = 'OPEN' AND o.expected_close_date BETWEEN $3::date AND $4::date"};
inline constexpr Sql kForecastClosed{"sales_forecast_closed",
    CRM_FORECAST_SELECT " AND o.status <> 'OPEN' AND o.close_time >= " CRM_UTC_DAY("$3::date")
    " AND o.close_time < " CRM_UTC_DAY("$4::date + 1")};
inline constexpr Sql kInsertSnapshot{"sales_snapshot_insert",
    "INSERT INTO forecast_snapshots (tenant_id, id, period_type, period_start, period_end, currency, take_time, "
    "trigger, body) VALUES ($1, $2::uuid, $3, $4::date, $5::date, $6, " CRM_AT_MICROS("$7") ", $8, $9::jsonb)"};
inline constexpr Sql kGetSnapshot{"sales_snapshot_get",
    "SELECT id::text, body::text FROM forecast_snapshots WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kListSnapshots{"sales_snapshot_list",
    "SELECT id::text, body::text FROM forecast_snapshots WHERE tenant_id = $1 AND period_type = $2 "
    "AND period_start = $3::date AND currency = $4 AND (take_time, id) < (" CRM_AT_MICROS("$5") ", $6::uuid) "
    "ORDER BY take_time DESC, id DESC LIMIT $7"};
inline constexpr Sql kPeriodCurrencies{"sales_snapshot_currencies",
    "SELECT DISTINCT currency FROM opportunities WHERE tenant_id = $1 AND delete_time IS NULL AND "
    "((status = 'OPEN' AND expected_close_date BETWEEN $2::date AND $3::date) OR (status = 'WON' AND close_time >= "
    CRM_UTC_DAY("$2::date") " AND close_time < " CRM_UTC_DAY("$3::date + 1") "))"};
inline constexpr Sql kRecentScheduledSnapshot{"sales_snapshot_recent",
    "SELECT 1 FROM forecast_snapshots WHERE tenant_id = $1 AND period_type = $2 AND period_start = $3::date "
    "AND currency = $4 AND trigger = 'scheduled' AND take_time > now() - $5::bigint * interval '1 second' LIMIT 1"};
// clang-format on

}  // namespace crm::sales::storage::sql
