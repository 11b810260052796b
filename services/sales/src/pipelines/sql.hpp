#pragma once
// Named SQL of the pipelines area (pipelines, their stages, the tenant registry). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::sales::sql {

using common::Sql;

// clang-format off
// The tenants the schedulers visit (forecast snapshots): a tenant is registered with its first pipeline.
inline constexpr Sql kEnsureTenant{"sales_tenant_ensure",
    "INSERT INTO sales_tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING"};

#define CRM_PIPELINE_COLUMNS \
    "p.id::text, p.name, p.is_default, p.version, " CRM_MICROS("p.create_time") ", " CRM_MICROS("p.update_time")
inline constexpr Sql kGetPipeline{"sales_pipeline_get",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1 AND p.id = $2::uuid"};
inline constexpr Sql kGetPipelineForUpdate{"sales_pipeline_get_for_update",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1 AND p.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kGetDefaultPipeline{"sales_pipeline_get_default",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1 AND p.is_default"};
inline constexpr Sql kInsertPipeline{"sales_pipeline_insert",
    "INSERT INTO pipelines (tenant_id, id, name, create_time, update_time) "
    "VALUES ($1, $2::uuid, $3, clock_timestamp(), clock_timestamp()) RETURNING id"};
// Race-safe default: concurrent first uses meet on the partial unique index; the loser inserts nothing. Pipelines
// take clock_timestamp() so that the default one, created first in the same transaction, also lists first.
inline constexpr Sql kInsertDefaultPipeline{"sales_pipeline_insert_default",
    "INSERT INTO pipelines (tenant_id, id, name, is_default, create_time, update_time) "
    "VALUES ($1, $2::uuid, $3, true, clock_timestamp(), clock_timestamp()) "
    "ON CONFLICT (tenant_id) WHERE is_default DO NOTHING RETURNING id"};
inline constexpr Sql kTouchPipeline{"sales_pipeline_touch",
    "UPDATE pipelines SET name = $3, version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kListPipelines{"sales_pipeline_list",
    "SELECT " CRM_PIPELINE_COLUMNS " FROM pipelines p WHERE p.tenant_id = $1"
    " AND (p.create_time, p.id) > (" CRM_AT_MICROS("$2") ", $3::uuid) ORDER BY p.create_time, p.id LIMIT $4"};
#undef CRM_PIPELINE_COLUMNS
// Serializes opportunity moves and creates with UpdatePipeline (which holds the pipeline FOR UPDATE): a deal cannot
// enter a stage while the stage is being removed. Share locks do not block each other.
inline constexpr Sql kLockPipelineShared{"sales_pipeline_lock_shared",
    "SELECT 1 FROM pipelines WHERE tenant_id = $1 AND id = $2::uuid FOR SHARE"};
// The default pipeline's id with the same share lock (CreateOpportunity without a pipeline: one statement for both).
inline constexpr Sql kLockDefaultPipelineShared{"sales_pipeline_lock_default_shared",
    "SELECT id::text FROM pipelines WHERE tenant_id = $1 AND is_default FOR SHARE"};

inline constexpr Sql kInsertStage{"sales_stage_insert",
    "INSERT INTO stages (tenant_id, id, pipeline_id, position, name, probability, forecast_category) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7)"};
inline constexpr Sql kUpdateStage{"sales_stage_update",
    "UPDATE stages SET name = $3, probability = $4, forecast_category = $5, position = $6 "
    "WHERE tenant_id = $1 AND id = $2::uuid AND archive_time IS NULL"};
// Moves the current stages of a pipeline out of the way (positions + 100) so that the final positions can be set one
// stage at a time without meeting the unique index on the positions of current stages.
inline constexpr Sql kShiftStages{"sales_stages_shift",
    "UPDATE stages SET position = position + 100 WHERE tenant_id = $1 AND pipeline_id = $2::uuid "
    "AND archive_time IS NULL"};
inline constexpr Sql kArchiveStage{"sales_stage_archive",
    "UPDATE stages SET archive_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND archive_time IS NULL"};
// Column list read by ReadStage, in this order.
#define CRM_STAGE_COLUMNS "id::text, name, position, probability, forecast_category, " CRM_MICROS("archive_time")
// Current stages first (by position), then the archived ones (oldest removal first).
inline constexpr Sql kStagesOf{"sales_stages_of",
    "SELECT " CRM_STAGE_COLUMNS " FROM stages "
    "WHERE tenant_id = $1 AND pipeline_id = $2::uuid ORDER BY archive_time NULLS FIRST, position"};
inline constexpr Sql kGetStage{"sales_stage_get",
    "SELECT " CRM_STAGE_COLUMNS ", pipeline_id::text FROM stages WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kStageByCategory{"sales_stage_by_category",
    "SELECT " CRM_STAGE_COLUMNS " FROM stages WHERE tenant_id = $1 AND pipeline_id = $2::uuid "
    "AND forecast_category = $3 AND archive_time IS NULL ORDER BY position LIMIT 1"};
inline constexpr Sql kFirstStage{"sales_stage_first",
    "SELECT " CRM_STAGE_COLUMNS " FROM stages WHERE tenant_id = $1 "
    "AND pipeline_id = $2::uuid AND archive_time IS NULL ORDER BY position LIMIT 1"};
#undef CRM_STAGE_COLUMNS
// clang-format on

}  // namespace crm::sales::sql
