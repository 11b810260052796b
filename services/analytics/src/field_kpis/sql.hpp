#pragma once
// The read statements of the field-service read model (migrations/0005_field_kpis.sql), in a header so that the
// integration tests can EXPLAIN them as the application role. Include from the field area and tests only (pqxx).
#include "crm/common/db.hpp"

namespace crm::analytics::field::sql {

using common::Sql;

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
#define CRM_COMPLETION_COLUMNS "SELECT work_order_id::text, version, event_id::text, " CRM_MICROS("completed_at") ", " \
    CRM_MICROS("created_at") ", technician_id, first_time_fix, travel_micros, on_site_micros, " \
    CRM_MICROS("arrived_at") ", has_windows, window_kept FROM analytics_field_completions "
#define CRM_TECHNICIAN_COLUMNS "SELECT technician_id::text, version, event_id::text, " CRM_MICROS("occurred_at") \
    ", territory, time_zone, active, working_hours::text, time_off::text FROM analytics_field_technician_versions "

// Completions in [$2, $3) (micros).
constexpr Sql kLoadCompletionsIn{"analytics_field_load_completions_in",
    CRM_COMPLETION_COLUMNS "WHERE tenant_id = $1 AND completed_at >= " CRM_AT("$2") " AND completed_at < " CRM_AT("$3")};
// Every technician version of the tenant (a tenant has hundreds of technicians, not millions).
constexpr Sql kLoadTechnicians{"analytics_field_load_technicians", CRM_TECHNICIAN_COLUMNS "WHERE tenant_id = $1"};
// Whole tenant (the rebuild's comparison).
constexpr Sql kLoadCompletions{"analytics_field_load_completions", CRM_COMPLETION_COLUMNS "WHERE tenant_id = $1"};

#undef CRM_MICROS
#undef CRM_AT
#undef CRM_COMPLETION_COLUMNS
#undef CRM_TECHNICIAN_COLUMNS
// clang-format on

}  // namespace crm::analytics::field::sql
