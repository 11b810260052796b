#pragma once
// Named SQL of the catalogue area (products and the price book). The names label crm_db_query_duration_seconds{query}.
// Every statement filters by tenant_id = $1 in addition to the row-level security policy.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::sales::sql {

using common::Sql;

// clang-format off
// Column list read by ReadProduct, in this order.
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
#undef CRM_PRODUCT_COLUMNS

// Column list read by ReadEntry, in this order.
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
#undef CRM_ENTRY_COLUMNS
// clang-format on

}  // namespace crm::sales::sql
