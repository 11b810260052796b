#pragma once
// Named SQL of the custom_fields area: definitions, and the removal of a deleted definition's key from every record
// of its entity. The names label crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in
// addition to the row-level security policy.
#include "crm/common/db.hpp"
#include "rows.hpp"

namespace crm::contacts::custom_fields::sql {

using common::Sql;

// clang-format off
// Column list read by ReadDefinition (custom_fields.cpp), in this order.
#define CRM_DEFINITION_COLUMNS                                                                                     \
    "d.id::text, d.entity, d.key, d.label, d.type, d.required, array_to_json(d.allowed_values)::text, "           \
    CRM_MICROS("d.create_time")

// One definition at a time per tenant and entity, so that the count of CreateDefinition holds until commit.
inline constexpr Sql kLockEntity{"custom_field_definitions_lock",
                                 "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"};

inline constexpr Sql kDefinitionsOf{"custom_field_definitions_of_entity",
    "SELECT " CRM_DEFINITION_COLUMNS " FROM custom_field_definitions d WHERE d.tenant_id = $1 AND d.entity = $2"};

// The contact definitions with the tenant's definitions version ($2 = 'CONTACT'), one snapshot: a left join, so that a
// tenant without definitions still gets its version (one row with NULL definition columns).
inline constexpr Sql kContactRulesWithVersion{"custom_field_definitions_with_version",
    "SELECT (SELECT coalesce(max(v.version), 0) FROM custom_field_versions v WHERE v.tenant_id = $1), "
    CRM_DEFINITION_COLUMNS " FROM (SELECT 1) one"
    " LEFT JOIN custom_field_definitions d ON d.tenant_id = $1 AND d.entity = $2"};

inline constexpr Sql kInsertDefinition{"custom_field_definitions_insert",
    "INSERT INTO custom_field_definitions AS d (tenant_id, id, entity, key, label, type, required, allowed_values) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, ARRAY(SELECT jsonb_array_elements_text($8::jsonb))) "
    "ON CONFLICT (tenant_id, entity, key) DO NOTHING RETURNING " CRM_DEFINITION_COLUMNS};

inline constexpr Sql kGetDefinition{"custom_field_definitions_get",
    "SELECT " CRM_DEFINITION_COLUMNS " FROM custom_field_definitions d WHERE d.tenant_id = $1 AND d.id = $2::uuid"};

inline constexpr Sql kDeleteDefinition{"custom_field_definitions_delete",
    "DELETE FROM custom_field_definitions WHERE tenant_id = $1 AND id = $2::uuid"};

inline constexpr Sql kCountDefinitions{"custom_field_definitions_count",
    "SELECT count(*) FROM custom_field_definitions WHERE tenant_id = $1 AND entity = $2"};

// $2/$3 cursor, $4 entity or '', $5 limit.
inline constexpr Sql kListDefinitions{"custom_field_definitions_list",
    "SELECT " CRM_DEFINITION_COLUMNS " FROM custom_field_definitions d"
    " WHERE d.tenant_id = $1 AND ($4 = '' OR d.entity = $4)"
    " AND (d.create_time, d.id) > (" CRM_AT_MICROS("$2") ", $3::uuid) ORDER BY d.create_time, d.id LIMIT $5"};

// Deleting a definition removes its key from every contact, or every company, that has it.
inline constexpr Sql kStripContactField{"contacts_strip_custom_field",
    "UPDATE contacts AS c SET custom_fields = c.custom_fields - $2, version = c.version + 1, update_time = now() "
    "WHERE c.tenant_id = $1 AND c.custom_fields ? $2"};
inline constexpr Sql kStripCompanyField{"companies_strip_custom_field",
    "UPDATE companies AS co SET custom_fields = co.custom_fields - $2, version = co.version + 1, "
    "update_time = now() WHERE co.tenant_id = $1 AND co.custom_fields ? $2"};
// clang-format on

}  // namespace crm::contacts::custom_fields::sql
