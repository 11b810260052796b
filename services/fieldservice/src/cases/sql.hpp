#pragma once
// Named SQL of the cases area (visit categories, support's cases as their events showed them). Every statement
// filters by tenant_id = $1 in addition to the row-level security policy.
#include "crm/common/db.hpp"
#include "records.hpp"

namespace crm::fieldservice::sql {

using common::Sql;

// clang-format off
inline constexpr Sql kGetVisitCategories{"fieldservice_visit_categories_get",
    "SELECT categories::text, version FROM visit_categories WHERE tenant_id = $1"};
// The tenant's row exists (version 0 = never set) before it is locked, so that racing first writes queue on it.
inline constexpr Sql kEnsureVisitCategories{"fieldservice_visit_categories_ensure",
    "INSERT INTO visit_categories (tenant_id, id, categories, version) VALUES ($1, $2::uuid, '[]', 0) "
    "ON CONFLICT (tenant_id) DO NOTHING"};
inline constexpr Sql kLockVisitCategories{"fieldservice_visit_categories_lock",
    "SELECT id::text, categories::text, version FROM visit_categories WHERE tenant_id = $1 FOR UPDATE"};
inline constexpr Sql kWriteVisitCategories{"fieldservice_visit_categories_write",
    "UPDATE visit_categories SET categories = $2::jsonb, version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 RETURNING version, " CRM_FS_MICROS("update_time")};
// The category of a case that needs a visit, if it is one ($2: the case's category).
inline constexpr Sql kFindVisitCategory{"fieldservice_visit_category_find",
    "SELECT c::text FROM visit_categories v, jsonb_array_elements(v.categories) c "
    "WHERE v.tenant_id = $1 AND c->>'category' = $2 LIMIT 1"};
// Transaction-scoped lock on one case of the tenant (work orders of a case are decided one at a time).
inline constexpr Sql kLockCase{"fieldservice_case_lock",
    "SELECT pg_advisory_xact_lock(hashtextextended('fieldservice.case/' || $1 || '/' || $2, 0))"};
inline constexpr Sql kGetCase{"fieldservice_support_case_get",
    "SELECT coalesce(contact_id::text, ''), coalesce(company_id::text, '') FROM support_cases "
    "WHERE tenant_id = $1 AND case_id = $2::uuid"};
// The newest snapshot of a case wins (events of one case come in order; a redelivered older one changes nothing).
inline constexpr Sql kUpsertCase{"fieldservice_support_case_upsert",
    "INSERT INTO support_cases (tenant_id, case_id, case_number, contact_id, company_id, category, case_version) "
    "VALUES ($1, $2::uuid, $3, $4::uuid, $5::uuid, $6, $7) ON CONFLICT (tenant_id, case_id) DO UPDATE SET "
    "case_number = EXCLUDED.case_number, contact_id = EXCLUDED.contact_id, company_id = EXCLUDED.company_id, "
    "category = EXCLUDED.category, case_version = EXCLUDED.case_version, update_time = now() "
    "WHERE support_cases.case_version < EXCLUDED.case_version"};
// clang-format on

}  // namespace crm::fieldservice::sql
