#pragma once
// Named SQL of the technicians area. The names label crm_db_query_duration_seconds{query}. Every statement filters by
// tenant_id = $1 in addition to the row-level security policy.
#include "crm/common/db.hpp"
#include "records.hpp"

namespace crm::fieldservice::sql {

using common::Sql;

// clang-format off
// Column list read by ReadTechnician, in this order (skills aggregated from technician_skills).
#define CRM_TECHNICIAN_COLUMNS                                                                                      \
    "t.id::text, t.user_id, t.display_name, ST_Y(t.home::geometry), ST_X(t.home::geometry), t.territory, "          \
    "t.time_zone, t.working_hours::text, t.time_off::text, coalesce(t.van_location_id::text, ''), t.active, "       \
    CRM_FS_MICROS("t.create_time") ", " CRM_FS_MICROS("t.update_time") ", t.version, "                            \
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('skill', s.skill, 'level', s.level, 'expire', "                 \
    CRM_FS_MICROS("s.expire_time") ") ORDER BY s.skill), '[]') FROM technician_skills s "                          \
    "WHERE s.tenant_id = t.tenant_id AND s.technician_id = t.id)::text"
inline constexpr Sql kGetTechnician{"fieldservice_technician_get",
    "SELECT " CRM_TECHNICIAN_COLUMNS " FROM technicians t WHERE t.tenant_id = $1 AND t.id = $2::uuid"};
inline constexpr Sql kGetTechnicianForUpdate{"fieldservice_technician_get_for_update",
    "SELECT " CRM_TECHNICIAN_COLUMNS " FROM technicians t WHERE t.tenant_id = $1 AND t.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kTechnicianOfUser{"fieldservice_technician_of_user",
    "SELECT id::text FROM technicians WHERE tenant_id = $1 AND user_id = $2"};
// $4 latitude, $5 longitude.
inline constexpr Sql kInsertTechnician{"fieldservice_technician_insert",
    "INSERT INTO technicians (tenant_id, id, user_id, display_name, home, territory, time_zone, working_hours, "
    "time_off, van_location_id) VALUES ($1, $2::uuid, $3, $4, ST_SetSRID(ST_MakePoint($6, $5), 4326)::geography, $7, "
    "$8, $9::jsonb, $10::jsonb, $11::uuid) ON CONFLICT (tenant_id, user_id) DO NOTHING RETURNING id"};
inline constexpr Sql kWriteTechnician{"fieldservice_technician_write",
    "UPDATE technicians SET display_name = $3, home = ST_SetSRID(ST_MakePoint($5, $4), 4326)::geography, "
    "territory = $6, time_zone = $7, working_hours = $8::jsonb, time_off = $9::jsonb, van_location_id = $10::uuid, "
    "active = $11, version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $12 "
    "RETURNING id"};
inline constexpr Sql kDeleteSkills{"fieldservice_technician_skills_delete",
    "DELETE FROM technician_skills WHERE tenant_id = $1 AND technician_id = $2::uuid"};
// $3: [{"skill":..,"level":..,"expire":micros|null}]
inline constexpr Sql kInsertSkills{"fieldservice_technician_skills_insert",
    "INSERT INTO technician_skills (tenant_id, technician_id, skill, level, expire_time) "
    "SELECT $1, $2::uuid, r.skill, r.level, " CRM_FS_AT("r.expire") " FROM jsonb_to_recordset($3::jsonb) "
    "AS r(skill text, level int, expire bigint)"};
inline constexpr Sql kListTechnicians{"fieldservice_technicians_list",
    "SELECT " CRM_TECHNICIAN_COLUMNS " FROM technicians t WHERE t.tenant_id = $1 AND (t.create_time, t.id) > ("
    CRM_FS_AT("$2") ", $3::uuid) ORDER BY t.create_time, t.id LIMIT $4"};
inline constexpr Sql kListTechniciansOfTerritory{"fieldservice_technicians_list_territory",
    "SELECT " CRM_TECHNICIAN_COLUMNS " FROM technicians t WHERE t.tenant_id = $1 AND t.territory = $5 AND "
    "(t.create_time, t.id) > (" CRM_FS_AT("$2") ", $3::uuid) ORDER BY t.create_time, t.id LIMIT $4"};
// The active technicians of a tenant nearest to a point ($2 latitude, $3 longitude) who have every required skill
// ($4: [{"skill":..,"min_level":..}]) at its level and not expired before $5 (micros), nearest first by their home
// base: a KNN scan of technicians_home (tenant_id an index condition), at most $6 rows. Last column: the distance
// in metres.
inline constexpr Sql kNearestQualified{"fieldservice_technicians_nearest_qualified",
    "SELECT " CRM_TECHNICIAN_COLUMNS ", ST_Distance(t.home, ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography) "
    "FROM technicians t WHERE t.tenant_id = $1 AND t.active AND NOT EXISTS ("
    "SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS r(skill text, min_level int) WHERE NOT EXISTS ("
    "SELECT 1 FROM technician_skills s WHERE s.tenant_id = $1 AND s.technician_id = t.id AND s.skill = r.skill "
    "AND s.level >= r.min_level AND (s.expire_time IS NULL OR s.expire_time > " CRM_FS_AT("$5") "))) "
    "ORDER BY t.home <-> ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography LIMIT $6"};
// clang-format on

}  // namespace crm::fieldservice::sql
