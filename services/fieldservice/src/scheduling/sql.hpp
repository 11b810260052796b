#pragma once
// Named SQL of the scheduling area (appointments: the technicians' calendars). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Overlaps are found with the GiST index of the exclusion constraint (tenant, technician, block).
#include "crm/common/db.hpp"
#include "records.hpp"

namespace crm::fieldservice::sql {

using common::Sql;

// clang-format off
#define CRM_APPOINTMENT_COLUMNS                                                                                     \
    "a.id::text, a.work_order_id::text, a.technician_id::text, " CRM_FS_MICROS("lower(a.block)") ", "              \
    CRM_FS_MICROS("a.start_time") ", " CRM_FS_MICROS("a.end_time") ", a.travel_minutes, ST_Y(a.site::geometry), "  \
    "ST_X(a.site::geometry)"
// Booked (or done) appointments of the technicians $2 (uuid[]) whose block overlaps [$3, $4) (micros). The block is
// [block_start, end_time): the explicit end_time bound lets appointments_technician_end (migration 0004) read only
// the bookings that end after $3, so the cost does not grow with the tenant's number of technicians or bookings.
inline constexpr Sql kBookedOfTechnicians{"fieldservice_appointments_booked",
    "SELECT " CRM_APPOINTMENT_COLUMNS " FROM appointments a WHERE a.tenant_id = $1 AND a.technician_id = ANY($2::uuid[]) "
    "AND a.status <> 'RELEASED' AND a.end_time > " CRM_FS_AT("$3") " AND a.block_start < " CRM_FS_AT("$4") " "
    "AND a.block && tstzrange(" CRM_FS_AT("$3") ", " CRM_FS_AT("$4") ") ORDER BY a.start_time"};
// The database refuses a second overlapping block of one technician (appointments_no_double_booking, SQLSTATE 23P01).
inline constexpr Sql kInsertAppointment{"fieldservice_appointment_insert",
    "INSERT INTO appointments (tenant_id, id, work_order_id, technician_id, start_time, end_time, travel_minutes, "
    "block_start, site) VALUES ($1, $2::uuid, $3::uuid, $4::uuid, " CRM_FS_AT("$5") ", " CRM_FS_AT("$6") ", $7, "
    CRM_FS_AT("$5") " - make_interval(mins => $7), ST_SetSRID(ST_MakePoint($9, $8), 4326)::geography)"};
inline constexpr Sql kReleaseAppointment{"fieldservice_appointment_release",
    "UPDATE appointments SET status = 'RELEASED', release_time = now() WHERE tenant_id = $1 "
    "AND work_order_id = $2::uuid AND status = 'BOOKED'"};
inline constexpr Sql kFinishAppointment{"fieldservice_appointment_finish",
    "UPDATE appointments SET status = 'DONE' WHERE tenant_id = $1 AND work_order_id = $2::uuid AND status = 'BOOKED'"};
// clang-format on
#undef CRM_APPOINTMENT_COLUMNS

}  // namespace crm::fieldservice::sql
