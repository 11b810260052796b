#pragma once
// Named SQL of the mobile area (SyncTechnicianDay). The names label crm_db_query_duration_seconds{query}. Every
// statement filters by tenant_id = $1 in addition to the row-level security policy. Change stamps are xid8 values
// passed as text.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "records.hpp"

namespace crm::fieldservice::sql {

using common::Sql;

// clang-format off
// Every transaction below this one had ended when the snapshot was taken: the next sync reads from here.
inline constexpr Sql kSyncHorizon{"fieldservice_sync_horizon",
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"};
// The technician's jobs of the days: work orders booked for $2 whose appointment (booked or done) overlaps [$3, $4)
// (micros), found through the appointments' GiST index (tenant, technician, block); `changed` when the work order or
// one of its reservations was written at or after $5 (xid8).
inline constexpr Sql kSyncJobsOfDays{"fieldservice_sync_jobs",
    "SELECT w.id::text, (w.sync_xid >= $5::xid8 OR EXISTS (SELECT 1 FROM reservations r WHERE r.tenant_id = $1 "
    "AND r.work_order_id = w.id AND r.sync_xid >= $5::xid8)) FROM appointments a JOIN work_orders w "
    "ON w.tenant_id = a.tenant_id AND w.id = a.work_order_id WHERE a.tenant_id = $1 AND a.technician_id = $2::uuid "
    "AND a.status <> 'RELEASED' AND a.block && tstzrange(" CRM_FS_AT("$3") ", " CRM_FS_AT("$4") ") "
    "AND w.technician_id = $2::uuid ORDER BY a.start_time"};
// Work orders of technician $2 written at or after $3: those not among the days' jobs left them.
inline constexpr Sql kSyncChangedOfTechnician{"fieldservice_sync_changed",
    "SELECT w.id::text FROM work_orders w WHERE w.tenant_id = $1 AND w.technician_id = $2::uuid "
    "AND w.sync_xid >= $3::xid8"};
// Work orders taken from technician $2 at or after $3.
inline constexpr Sql kSyncTombstones{"fieldservice_sync_tombstones",
    "SELECT DISTINCT work_order_id::text FROM sync_tombstones WHERE tenant_id = $1 AND technician_id = $2::uuid "
    "AND sync_xid >= $3::xid8"};
inline constexpr Sql kPurgeTombstones{"fieldservice_sync_tombstones_purge",
    "DELETE FROM sync_tombstones WHERE tenant_id = $1 AND technician_id = $2::uuid "
    "AND create_time < now() - make_interval(secs => $3::double precision)"};
inline constexpr Sql kPurgeOperations{"fieldservice_sync_operations_purge",
    "DELETE FROM sync_operations WHERE tenant_id = $1 AND technician_id = $2::uuid "
    "AND create_time < now() - make_interval(secs => $3::double precision)"};
// Claims an operation's idempotency key ($3) for technician $2; a concurrent twin waits for the first transaction.
inline constexpr Sql kClaimOperation{"fieldservice_sync_operation_claim",
    "INSERT INTO sync_operations (tenant_id, technician_id, idempotency_key, work_order_id, result) "
    "VALUES ($1, $2::uuid, $3, $4::uuid, ''::bytea) ON CONFLICT DO NOTHING RETURNING 1"};
// The stored result (sealed under its work order's key, migration 0007) and that key.
inline constexpr Sql kOperationResult{"fieldservice_sync_operation_result",
    "SELECT encode(o.result, 'hex'), o.work_order_id::text, "
    CRM_SUBJECT_KEY_COLUMN("o.tenant_id", "o.work_order_id::text") " FROM sync_operations o "
    "WHERE o.tenant_id = $1 AND o.technician_id = $2::uuid AND o.idempotency_key = $3"};
inline constexpr Sql kRecordOperation{"fieldservice_sync_operation_record",
    "UPDATE sync_operations SET result = decode($4, 'hex') WHERE tenant_id = $1 AND technician_id = $2::uuid "
    "AND idempotency_key = $3"};
// clang-format on

}  // namespace crm::fieldservice::sql
