#pragma once
// Named SQL of the companies area. The names label crm_db_query_duration_seconds{query}. Every statement filters by
// tenant_id = $1 in addition to the row-level security policy.
#include "crm/common/db.hpp"
#include "rows.hpp"

namespace crm::contacts::companies::sql {

using common::Sql;

// clang-format off
// Column list read by ReadCompany (companies.cpp), in this order.
#define CRM_COMPANY_COLUMNS                                                                                        \
    "co.id::text, co.name, co.domain, co.industry, co.owner_id, array_to_json(co.tags)::text, "                   \
    "co.custom_fields::text, " CRM_MICROS("co.create_time") ", " CRM_MICROS("co.update_time") ", "                \
    CRM_MICROS("co.delete_time") ", co.version"

// The writable columns of a company, set from $3..$8.
#define CRM_COMPANY_VALUE_COLUMNS "name, domain, industry, owner_id, tags, custom_fields"
#define CRM_COMPANY_VALUES "$3, $4, $5, $6, ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8::jsonb"

// CreateCompany in one round trip: the function companies_create (migration 0030) takes the lock of the company's key
// (domain, else name), looks for an active company with it and, finding none, inserts ($1 tenant, $2 id, $3..$8 the
// values). Rows: kind ('existing' or 'company'), then CRM_COMPANY_COLUMNS.
inline constexpr Sql kCreateCompany{"companies_create",
    "SELECT r.kind, " CRM_COMPANY_COLUMNS " FROM companies_create($1, $2::uuid, $3, $4, $5, $6,"
    " ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8::jsonb) r"
    " CROSS JOIN LATERAL (SELECT (r.company).*) co"};

inline constexpr Sql kWriteCompany{"companies_write",
    "UPDATE companies AS co SET (" CRM_COMPANY_VALUE_COLUMNS ") = (" CRM_COMPANY_VALUES "), "
    "version = co.version + 1, update_time = now() "
    "WHERE co.tenant_id = $1 AND co.id = $2::uuid AND co.version = $9 RETURNING " CRM_COMPANY_COLUMNS};

inline constexpr Sql kGetCompany{"companies_get",
    "SELECT " CRM_COMPANY_COLUMNS " FROM companies co WHERE co.tenant_id = $1 AND co.id = $2::uuid"};

// UpdateCompany's duplicate check (CreateCompany's is inside companies_create): the active company with a normalized domain (index companies_tenant_domain) or,
// for a company without domain, with a name ignoring case (index companies_tenant_name_key).
inline constexpr Sql kActiveCompanyByDomain{"companies_active_by_domain",
    "SELECT co.id::text FROM companies co WHERE co.tenant_id = $1 AND co.delete_time IS NULL AND co.domain <> '' "
    "AND co.domain = $2 ORDER BY co.create_time, co.id LIMIT 2"};
inline constexpr Sql kActiveCompanyByName{"companies_active_by_name",
    "SELECT co.id::text FROM companies co WHERE co.tenant_id = $1 AND co.delete_time IS NULL "
    "AND co.name_key = lower($2) ORDER BY co.create_time, co.id LIMIT 2"};
// Serializes creates of one company domain or name within a tenant; $1 = tenant, $2 = domain or name (case-folded).
inline constexpr Sql kLockCompanyKey{"companies_lock_key",
    "SELECT pg_advisory_xact_lock(hashtextextended('contacts.company:' || $1 || ':' || lower($2), 0))"};

inline constexpr Sql kSoftDeleteCompany{"companies_soft_delete",
    "UPDATE companies AS co SET delete_time = now(), update_time = now(), version = co.version + 1 "
    "WHERE co.tenant_id = $1 AND co.id = $2::uuid AND co.version = $3 RETURNING " CRM_COMPANY_COLUMNS};

// $2/$3 cursor, $4 show_deleted, $5 owner or '', $6 tag or '', $7 limit; $8 updated_after micros (updated variant).
// Tags are tested with @> on the row: companies are few per tenant, and under row-level security a GIN index could
// not serve @> anyway.
#define CRM_LIST_COMPANIES(sort_col, extra_where)                                                                  \
    "SELECT " CRM_COMPANY_COLUMNS " FROM companies co"                                                             \
    " WHERE co.tenant_id = $1 AND ($4 OR co.delete_time IS NULL) AND ($5 = '' OR co.owner_id = $5)"               \
    " AND ($6 = '' OR co.tags @> ARRAY[$6::text])" extra_where                                                      \
    " AND (co." sort_col ", co.id) > (" CRM_AT_MICROS("$2") ", $3::uuid)"                                           \
    " ORDER BY co." sort_col ", co.id LIMIT $7"

inline constexpr Sql kListCompanies{"companies_list", CRM_LIST_COMPANIES("create_time", "")};
inline constexpr Sql kListCompaniesUpdated{"companies_list_updated",
    CRM_LIST_COMPANIES("update_time", " AND co.update_time > " CRM_AT_MICROS("$8"))};
// clang-format on

}  // namespace crm::contacts::companies::sql
