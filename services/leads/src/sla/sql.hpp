#pragma once
// Statements of the sla area: due first-touch deadlines across tenants and the breach of one lead. Names appear in
// crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"

namespace crm::leads::sla::sql {

using common::Sql;

// A cross-tenant read, allowed only by the maintenance policies for the transaction that sets this.
inline constexpr Sql kMaintenanceOn{"leads_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
inline constexpr Sql kDueSla{"leads_sla_due", R"SQL(
SELECT tenant_id, id::text FROM leads
WHERE first_touch_deadline <= now() AND first_touch_time IS NULL AND sla_breach_time IS NULL
ORDER BY first_touch_deadline LIMIT $1)SQL"};
// Once per lead, whatever the number of replicas: the row is taken with SKIP LOCKED and only while still unbreached.
inline constexpr Sql kBreachSla{"leads_sla_breach", R"SQL(
UPDATE leads SET sla_breach_time = now(), version = version + 1, update_time = now()
WHERE tenant_id = $1 AND id = (SELECT id FROM leads WHERE tenant_id = $1 AND id = $2::uuid
  AND first_touch_deadline <= now() AND first_touch_time IS NULL AND sla_breach_time IS NULL
  FOR UPDATE SKIP LOCKED)
RETURNING id::text)SQL"};

}  // namespace crm::leads::sla::sql
