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
    "WHERE s.tenant_id = t.tenant_id AND s.technician_id = t.id)::text, "                                          \
    "coalesce((SELECT jsonb_build_object('lat', ST_Y(l.location::geometry), 'lon', ST_X(l.location::geometry), "   \
    "'at', " CRM_FS_MICROS("l.location_time") ", 'accuracy', l.accuracy_meters, 'received', "                      \
    CRM_FS_MICROS("l.receive_time") ") FROM technician_locations l "                                                \
    "WHERE l.tenant_id = t.tenant_id AND l.technician_id = t.id)::text, '')"
// The index of the first column after CRM_TECHNICIAN_COLUMNS.
inline constexpr int kTechnicianColumnCount = 16;
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
// ReportLocation: the last known position, upserted unless the technician's last report was received less than $7
// seconds ago (then no row returns: rate-limited). A report dated before the last known position ($5 micros) keeps
// the position and time (it goes into the history only). The row lock queues concurrent reports of one technician.
// $3 latitude, $4 longitude, $6 accuracy. Returns the report's number and whether it was dated before.
inline constexpr Sql kUpsertLocation{"fieldservice_location_upsert",
    "INSERT INTO technician_locations AS l (tenant_id, technician_id, location, location_time, accuracy_meters) "
    "VALUES ($1, $2::uuid, ST_SetSRID(ST_MakePoint($4, $3), 4326)::geography, " CRM_FS_AT("$5") ", $6) "
    "ON CONFLICT (tenant_id, technician_id) DO UPDATE SET "
    "location = CASE WHEN excluded.location_time >= l.location_time THEN excluded.location ELSE l.location END, "
    "accuracy_meters = CASE WHEN excluded.location_time >= l.location_time THEN excluded.accuracy_meters "
    "ELSE l.accuracy_meters END, location_time = greatest(l.location_time, excluded.location_time), "
    "receive_time = now(), reports = l.reports + 1 "
    "WHERE l.receive_time <= now() - make_interval(secs => $7::double precision) "
    "RETURNING l.reports, l.location_time > " CRM_FS_AT("$5")};
inline constexpr Sql kInsertLocationHistory{"fieldservice_location_history_insert",
    "INSERT INTO technician_location_history (tenant_id, technician_id, seq, location, location_time, "
    "accuracy_meters) VALUES ($1, $2::uuid, $3, ST_SetSRID(ST_MakePoint($5, $4), 4326)::geography, "
    CRM_FS_AT("$6") ", $7)"};
// Keeps the newest reports: drops those numbered $3 or lower (primary-key range).
inline constexpr Sql kTrimLocationHistory{"fieldservice_location_history_trim",
    "DELETE FROM technician_location_history WHERE tenant_id = $1 AND technician_id = $2::uuid AND seq <= $3"};
// Active qualified technicians (as kNearestQualified, $1..$6) whose live position, reported after $7 (micros), is
// nearest to the site: a KNN scan of technician_locations_where. Last column: the distance from the live position.
inline constexpr Sql kNearestQualifiedLive{"fieldservice_technicians_nearest_qualified_live",
    "SELECT " CRM_TECHNICIAN_COLUMNS ", ST_Distance(l.location, ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography) "
    "FROM technician_locations l JOIN technicians t ON t.tenant_id = l.tenant_id AND t.id = l.technician_id "
    "WHERE l.tenant_id = $1 AND l.location_time > " CRM_FS_AT("$7") " AND t.active AND NOT EXISTS ("
    "SELECT 1 FROM jsonb_to_recordset($4::jsonb) AS r(skill text, min_level int) WHERE NOT EXISTS ("
    "SELECT 1 FROM technician_skills s WHERE s.tenant_id = $1 AND s.technician_id = t.id AND s.skill = r.skill "
    "AND s.level >= r.min_level AND (s.expire_time IS NULL OR s.expire_time > " CRM_FS_AT("$5") "))) "
    "ORDER BY l.location <-> ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography LIMIT $6"};
// clang-format on

}  // namespace crm::fieldservice::sql
