#pragma once
// The KPI cache's own statements (named SQL, see crm/common/db.hpp): the record of the tenants read, which a
// starting replica warms (migrations/0030_kpi_cache_tenants.sql). In a header so that the integration tests can
// EXPLAIN them as the application role. Include from the cache area and tests only (pqxx).
#include "crm/common/db.hpp"

namespace crm::analytics::cache::sql {

using common::Sql;

// The caller's tenant was read: when, and the estimated size of its fold. $1 tenant, $2 bytes.
inline constexpr Sql kRecordRead{"analytics_cache_record_read", R"SQL(
INSERT INTO analytics_kpi_cache_tenants (tenant_id, read_at, bytes) VALUES ($1, now(), $2)
ON CONFLICT (tenant_id) DO UPDATE SET read_at = excluded.read_at, bytes = excluded.bytes
)SQL"};

// Upkeep across tenants: opens the table's maintenance policy for this transaction only.
inline constexpr Sql kMaintenanceOn{"analytics_cache_maintenance_on",
                                    "SELECT set_config('crm.maintenance', 'on', true)"};

// The tenants read in the last $1 days, the most recently read first, at most $2. Index-backed (read_at).
inline constexpr Sql kRecentTenants{"analytics_cache_recent_tenants", R"SQL(
SELECT tenant_id, bytes FROM analytics_kpi_cache_tenants
WHERE read_at > now() - make_interval(days => $1::integer)
ORDER BY read_at DESC LIMIT $2
)SQL"};

}  // namespace crm::analytics::cache::sql
