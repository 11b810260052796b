#pragma once
// Named SQL of the quotes area (quotes and the tenant's sales settings, whose discount threshold decides approvals).
// The names label crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the
// row-level security policy.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::sales::sql {

using common::Sql;

// clang-format off
// Column list read by ReadQuote, in this order.
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
#undef CRM_QUOTE_COLUMNS

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
// clang-format on

}  // namespace crm::sales::sql
