#pragma once
// Named SQL of the work-orders area. The names label crm_db_query_duration_seconds{query}. Every statement filters by
// tenant_id = $1 in addition to the row-level security policy.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "records.hpp"

namespace crm::fieldservice::sql {

using common::Sql;

// clang-format off
// Column list read by ReadWorkOrder, in this order; `sig` is the signature column (hex), '' in lists. The personal
// values (title, description, site address, status reason, the completion's notes and answers, the history's reasons)
// come as stored (sealed, migration 0007), and last the work order's wrapped data key, which opens them.
#define CRM_WORK_ORDER_COLUMNS(sig)                                                                                 \
    "w.id::text, coalesce(w.case_id::text, ''), coalesce(w.contact_id::text, ''), coalesce(w.company_id::text, ''), " \
    "w.title, w.description, coalesce(w.site_address, ''), coalesce(ST_Y(w.site::geometry), 0), "                  \
    "coalesce(ST_X(w.site::geometry), 0), w.asset_id, "                                                              \
    "w.work_type, w.duration_minutes, w.required_skills::text, w.priority, w.time_windows::text, w.checklist::text, " \
    "w.parts_needed::text, w.status, w.status_reason, coalesce(w.technician_id::text, ''), "                        \
    "coalesce(w.completion::text, ''), " sig ", " CRM_FS_MICROS("w.create_time") ", "                             \
    CRM_FS_MICROS("w.update_time") ", w.version, "                                                                  \
    "(SELECT coalesce(jsonb_agg(jsonb_build_object('from', h.from_status, 'to', h.to_status, 'at', "               \
    CRM_FS_MICROS("h.change_time") ", 'actor', h.actor, 'reason', h.reason) ORDER BY h.seq), '[]') "               \
    "FROM work_order_history h WHERE h.tenant_id = w.tenant_id AND h.work_order_id = w.id)::text, "                 \
    "coalesce((SELECT jsonb_build_object('id', a.id, 'technician_id', a.technician_id, 'start', "                  \
    CRM_FS_MICROS("a.start_time") ", 'end', " CRM_FS_MICROS("a.end_time") ", 'travel', a.travel_minutes) "         \
    "FROM appointments a WHERE a.tenant_id = w.tenant_id AND a.work_order_id = w.id AND a.status <> 'RELEASED' "    \
    "ORDER BY a.create_time DESC LIMIT 1)::text, ''), " CRM_SUBJECT_KEY_COLUMN("w.tenant_id", "w.id::text")
inline constexpr Sql kGetWorkOrder{"fieldservice_work_order_get",
    "SELECT " CRM_WORK_ORDER_COLUMNS("coalesce(encode(w.signature, 'hex'), '')")
    " FROM work_orders w WHERE w.tenant_id = $1 AND w.id = $2::uuid"};
inline constexpr Sql kGetWorkOrderForUpdate{"fieldservice_work_order_get_for_update",
    "SELECT " CRM_WORK_ORDER_COLUMNS("coalesce(encode(w.signature, 'hex'), '')")
    " FROM work_orders w WHERE w.tenant_id = $1 AND w.id = $2::uuid FOR UPDATE"};
// Work orders $2 (uuid[]) as lists read them (no signature).
inline constexpr Sql kGetWorkOrders{"fieldservice_work_orders_get_many",
    "SELECT " CRM_WORK_ORDER_COLUMNS("''") " FROM work_orders w WHERE w.tenant_id = $1 AND w.id = ANY($2::uuid[])"};
// The site's point from its address, latitude and longitude parameters: NULL with the address (a work order created
// from a support case event has no site).
#define CRM_WO_SITE(address, lat, lon)                                                                              \
    "(CASE WHEN " address "::text IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(" lon "::float8, " lat             \
    "::float8), 4326)::geography END)"
inline constexpr Sql kInsertWorkOrder{"fieldservice_work_order_insert",
    "INSERT INTO work_orders (tenant_id, id, case_id, contact_id, company_id, title, description, site_address, site, "
    "asset_id, work_type, duration_minutes, required_skills, priority, time_windows, checklist, parts_needed) VALUES "
    "($1, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6, $7, $8, " CRM_WO_SITE("$8", "$9", "$10") ", "
    "$11, $12, $13, $14::jsonb, $15, $16::jsonb, $17::jsonb, $18::jsonb)"};
inline constexpr Sql kWriteWorkOrder{"fieldservice_work_order_write",
    "UPDATE work_orders SET contact_id = $3::uuid, company_id = $4::uuid, title = $5, description = $6, "
    "site_address = $7, site = " CRM_WO_SITE("$7", "$8", "$9") ", asset_id = $10, work_type = $11, "
    "duration_minutes = $12, required_skills = $13::jsonb, priority = $14, time_windows = $15::jsonb, "
    "checklist = $16::jsonb, parts_needed = $17::jsonb, version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $18 RETURNING id"};
// $3 status, $4 reason, $5 technician ('' keeps it, NULL via $6 = true clears it).
inline constexpr Sql kSetStatus{"fieldservice_work_order_set_status",
    "UPDATE work_orders SET status = $3, status_reason = $4, technician_id = CASE WHEN $6 THEN NULL "
    "WHEN $5 = '' THEN technician_id ELSE $5::uuid END, version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $7 RETURNING id"};
inline constexpr Sql kSetCompletion{"fieldservice_work_order_set_completion",
    "UPDATE work_orders SET completion = $3::jsonb, signature = decode($4, 'hex') "
    "WHERE tenant_id = $1 AND id = $2::uuid"};
// A booking moved: the technician ($4) may change, the status stays.
inline constexpr Sql kTouchWorkOrder{"fieldservice_work_order_touch",
    "UPDATE work_orders SET technician_id = $4::uuid, version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $3 RETURNING id"};
inline constexpr Sql kInsertHistory{"fieldservice_work_order_history_insert",
    "INSERT INTO work_order_history (tenant_id, work_order_id, seq, from_status, to_status, change_time, actor, reason) "
    "SELECT $1, $2::uuid, coalesce(max(seq), 0) + 1, $3, $4, " CRM_FS_AT("$5") ", $6, $7 FROM work_order_history "
    "WHERE tenant_id = $1 AND work_order_id = $2::uuid"};
// The technician a work order is (or was last) booked for: kept when it is cancelled, cleared when unassigned.
inline constexpr Sql kTechnicianOfWorkOrder{"fieldservice_work_order_technician",
    "SELECT coalesce(technician_id::text, '') FROM work_orders WHERE tenant_id = $1 AND id = $2::uuid"};
// Whether the case has a work order (any status): a case event makes one only when it has none.
inline constexpr Sql kCaseHasWorkOrder{"fieldservice_work_orders_of_case_exist",
    "SELECT EXISTS (SELECT 1 FROM work_orders WHERE tenant_id = $1 AND case_id = $2::uuid)"};
// Earlier work orders of the same case that could not be completed (first-time fix).
inline constexpr Sql kFailedVisitsOfCase{"fieldservice_work_orders_failed_of_case",
    "SELECT count(*) FROM work_orders WHERE tenant_id = $1 AND case_id = $2::uuid AND id <> $3::uuid "
    "AND status = 'CANNOT_COMPLETE'"};
#define CRM_WO_LIST(filter)                                                                                         \
    "SELECT " CRM_WORK_ORDER_COLUMNS("''") " FROM work_orders w WHERE w.tenant_id = $1 " filter                    \
    " AND (w.create_time, w.id) < (" CRM_FS_AT("$2") ", $3::uuid) ORDER BY w.create_time DESC, w.id DESC LIMIT $4"
inline constexpr Sql kListWorkOrders{"fieldservice_work_orders_list", CRM_WO_LIST("")};
inline constexpr Sql kListWorkOrdersByStatus{"fieldservice_work_orders_list_status", CRM_WO_LIST("AND w.status = $5")};
inline constexpr Sql kListWorkOrdersByTechnician{"fieldservice_work_orders_list_technician",
    CRM_WO_LIST("AND w.technician_id = $5::uuid")};
inline constexpr Sql kListWorkOrdersByTechnicianStatus{"fieldservice_work_orders_list_technician_status",
    CRM_WO_LIST("AND w.technician_id = $5::uuid AND w.status = $6")};
#undef CRM_WO_LIST
#undef CRM_WO_SITE

// The backfill of completions stored before migration 0007 (BackfillCompletions): a completion whose notes or a
// checklist answer is clear, the predicate of the partial index work_orders_unsealed_completion, word for word.
#define CRM_WO_COMPLETION_UNSEALED                                                                                  \
    "completion IS NOT NULL AND ((completion ->> 'notes' <> '' AND completion ->> 'notes' NOT LIKE 'pv1.%') "       \
    "OR jsonb_path_exists(completion, '$.checklistAnswers[*].answer ? (@ != \"\" && !(@ starts with \"pv1.\"))'))"
inline constexpr Sql kMaintenanceOn{"fieldservice_completions_backfill",
    "SELECT set_config('crm.maintenance', 'on', true)"};
// In a maintenance transaction: the tenants with such completions.
inline constexpr Sql kUnsealedCompletionTenants{"fieldservice_completions_backfill",
    "SELECT DISTINCT tenant_id FROM work_orders WHERE " CRM_WO_COMPLETION_UNSEALED " LIMIT 1000"};
// A batch of one tenant's (locked), then their completions sealed ($2 ids, $3 completions as JSON text).
inline constexpr Sql kUnsealedCompletions{"fieldservice_completions_backfill",
    "SELECT id::text, completion::text FROM work_orders WHERE tenant_id = $1 AND " CRM_WO_COMPLETION_UNSEALED
    " LIMIT 500 FOR UPDATE"};
inline constexpr Sql kSealCompletions{"fieldservice_completions_backfill",
    "UPDATE work_orders AS w SET completion = u.c::jsonb FROM unnest($2::text[], $3::text[]) AS u(id, c) "
    "WHERE w.tenant_id = $1 AND w.id = u.id::uuid"};
#undef CRM_WO_COMPLETION_UNSEALED
// clang-format on

}  // namespace crm::fieldservice::sql
