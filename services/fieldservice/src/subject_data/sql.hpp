#pragma once
// Statements of the subject-data area (subject_data.hpp). Names appear in crm_db_query_duration_seconds{query}. $1 is
// the tenant, $2 the subject's contact ids (uuid[]). The person's work orders: those of one of their contacts
// (work_orders_contact) and those of a support case of one of their contacts (support_cases_contact, then
// work_orders_case); their appointments, parts lines and offline operations by work order (migration 0006).
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::fieldservice::subject_data::sql {

using common::Sql;

// clang-format off
// Nothing is read when the subject has no contact id (a one-time filter).
#define CRM_SUBJECT_WORK_ORDERS                                                                                     \
    "SELECT id FROM work_orders WHERE cardinality($2::uuid[]) > 0 AND tenant_id = $1 "                             \
    "AND contact_id = ANY($2::uuid[]) UNION SELECT id FROM work_orders WHERE cardinality($2::uuid[]) > 0 "          \
    "AND tenant_id = $1 AND case_id IN (SELECT case_id FROM support_cases "                                         \
    "WHERE tenant_id = $1 AND contact_id = ANY($2::uuid[]))"

inline constexpr Sql kWorkOrderIds{"fieldservice_subject_work_order_ids",
    "SELECT id::text FROM (" CRM_SUBJECT_WORK_ORDERS ") w ORDER BY 1"};

// Export: the records as stored (JSON array, count). The signature (the customer's drawing) as base64. Work orders:
// one JSON object a row, with the work order's wrapped data key (their personal values are sealed, migration 0007:
// the handler opens them).
inline constexpr Sql kExportWorkOrders{"fieldservice_subject_export_work_orders",
    "SELECT w.id::text, jsonb_build_object('id', w.id, 'case_id', w.case_id, 'contact_id', w.contact_id, "
    "'company_id', w.company_id, 'title', w.title, 'description', w.description, 'site_address', w.site_address, "
    "'site_latitude', ST_Y(w.site::geometry), 'site_longitude', ST_X(w.site::geometry), 'asset_id', w.asset_id, "
    "'work_type', w.work_type, 'duration_minutes', w.duration_minutes, 'required_skills', w.required_skills, "
    "'priority', w.priority, 'time_windows', w.time_windows, 'checklist', w.checklist, "
    "'parts_needed', w.parts_needed, 'status', w.status, 'status_reason', w.status_reason, "
    "'technician_id', w.technician_id, 'completion', w.completion, "
    "'signature_base64', encode(w.signature, 'base64'), 'version', w.version, 'create_time', w.create_time, "
    "'update_time', w.update_time, 'history', (SELECT coalesce(jsonb_agg(jsonb_build_object('from', h.from_status, "
    "'to', h.to_status, 'change_time', h.change_time, 'actor', h.actor, 'reason', h.reason) ORDER BY h.seq), '[]') "
    "FROM work_order_history h WHERE h.tenant_id = w.tenant_id AND h.work_order_id = w.id))::text, "
    CRM_SUBJECT_KEY_COLUMN("w.tenant_id", "w.id::text") " FROM work_orders w "
    "WHERE w.tenant_id = $1 AND w.id IN (" CRM_SUBJECT_WORK_ORDERS ") ORDER BY w.create_time, w.id"};
inline constexpr Sql kExportAppointments{"fieldservice_subject_export_appointments",
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'work_order_id', a.work_order_id, "
    "'technician_id', a.technician_id, 'start_time', a.start_time, 'end_time', a.end_time, "
    "'travel_minutes', a.travel_minutes, 'site_latitude', ST_Y(a.site::geometry), "
    "'site_longitude', ST_X(a.site::geometry), 'status', a.status, 'create_time', a.create_time, "
    "'release_time', a.release_time) ORDER BY a.create_time, a.id), '[]')::text, count(*) FROM appointments a "
    "WHERE a.tenant_id = $1 AND a.work_order_id IN (" CRM_SUBJECT_WORK_ORDERS ")"};
inline constexpr Sql kExportReservations{"fieldservice_subject_export_reservations",
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'work_order_id', r.work_order_id, "
    "'location_id', r.location_id, 'part_id', r.part_id, 'quantity', r.quantity, 'status', r.status, "
    "'create_time', r.create_time) ORDER BY r.create_time, r.id), '[]')::text, count(*) FROM reservations r "
    "WHERE r.tenant_id = $1 AND r.work_order_id IN (" CRM_SUBJECT_WORK_ORDERS ")"};
// Offline operations of the person's work orders: the stored result (SyncOperationResult, serialized, sealed under the
// work order's key) as hex, and that key.
inline constexpr Sql kSyncOperations{"fieldservice_subject_sync_operations",
    "SELECT o.technician_id::text, o.idempotency_key, o.work_order_id::text, encode(o.result, 'hex'), "
    "(extract(epoch FROM o.create_time) * 1000000)::bigint, "
    CRM_SUBJECT_KEY_COLUMN("o.tenant_id", "o.work_order_id::text") " FROM sync_operations o "
    "WHERE o.tenant_id = $1 AND o.work_order_id IN (" CRM_SUBJECT_WORK_ORDERS ") "
    "ORDER BY o.create_time, o.idempotency_key"};
inline constexpr Sql kRewriteSyncOperation{"fieldservice_subject_rewrite_sync_operation",
    "UPDATE sync_operations SET result = decode($4, 'hex') WHERE tenant_id = $1 AND technician_id = $2::uuid "
    "AND idempotency_key = $3"};

// Erase. A work order keeps its ids, links, work type, duration, skills, windows, checklist template, parts, status,
// technician, times and version; its title (required: a fixed marker), description, site (address and point: the
// customer's home), status reason, completion notes and checklist answers and the customer's signature go. Without a
// site it cannot be booked again until a dispatcher sets one (as a work order created from a case).
inline constexpr Sql kEraseWorkOrders{"fieldservice_subject_erase_work_orders",
    "UPDATE work_orders SET title = '(erased)', description = '', site_address = NULL, site = NULL, "
    "status_reason = '', signature = NULL, completion = CASE WHEN completion IS NULL THEN NULL ELSE "
    "jsonb_set(completion - 'notes', '{checklistAnswers}', coalesce((SELECT jsonb_agg(a - 'answer') FROM "
    "jsonb_array_elements(CASE WHEN jsonb_typeof(completion -> 'checklistAnswers') = 'array' "
    "THEN completion -> 'checklistAnswers' ELSE '[]'::jsonb END) a), '[]'::jsonb)) END "
    "WHERE tenant_id = $1 AND id IN (" CRM_SUBJECT_WORK_ORDERS ") AND (title <> '(erased)' OR description <> '' "
    "OR site_address IS NOT NULL OR status_reason <> '' OR signature IS NOT NULL OR completion ? 'notes' "
    "OR coalesce(jsonb_path_exists(completion, '$.checklistAnswers[*].answer'), false)) RETURNING id::text"};
// The reasons given on status changes (free text, e.g. why a visit could not be completed).
inline constexpr Sql kEraseHistoryReasons{"fieldservice_subject_erase_history_reasons",
    "UPDATE work_order_history SET reason = '' WHERE tenant_id = $1 AND work_order_id IN (" CRM_SUBJECT_WORK_ORDERS
    ") AND reason <> ''"};
// An appointment's point (NOT NULL: the technician's calendar computes the travel to and from it) is rounded to a
// 0.01 degree grid (about 1.1 km north-south, less east-west): it no longer points at a house, and the travel
// estimates of the technician's neighbouring bookings stay within about a kilometre.
#define CRM_ROUNDED(f) "round(" f "(site::geometry)::numeric, 2)::float8"
inline constexpr Sql kRoundAppointmentSites{"fieldservice_subject_round_appointment_sites",
    "UPDATE appointments SET site = ST_SetSRID(ST_MakePoint(" CRM_ROUNDED("ST_X") ", " CRM_ROUNDED("ST_Y")
    "), 4326)::geography WHERE tenant_id = $1 AND work_order_id IN (" CRM_SUBJECT_WORK_ORDERS ") "
    "AND (ST_X(site::geometry) <> " CRM_ROUNDED("ST_X") " OR ST_Y(site::geometry) <> " CRM_ROUNDED("ST_Y") ")"};
#undef CRM_ROUNDED
#undef CRM_SUBJECT_WORK_ORDERS
// clang-format on

}  // namespace crm::fieldservice::subject_data::sql
