#pragma once
// Statements of the assignment area: the tenant's assignment configuration (a row of tenant_settings), round-robin
// cursors per team, and the open leads an owner holds (capacity). Names appear in crm_db_query_duration_seconds.
#include "crm/common/db.hpp"

namespace crm::leads::assignment::sql {

using common::Sql;

inline constexpr Sql kGetConfig{"leads_assignment_get", R"SQL(
SELECT body::text, (extract(epoch FROM update_time) * 1000000)::bigint FROM tenant_settings
WHERE tenant_id = $1 AND kind = 'assignment')SQL"};
inline constexpr Sql kPutConfig{"leads_assignment_put", R"SQL(
INSERT INTO tenant_settings (tenant_id, kind, body) VALUES ($1, 'assignment', $2::jsonb)
ON CONFLICT (tenant_id, kind) DO UPDATE SET body = EXCLUDED.body, version = tenant_settings.version + 1,
  update_time = now()
RETURNING (extract(epoch FROM update_time) * 1000000)::bigint)SQL"};

// The next pick of a team locks its cursor row, so concurrent picks are serialized per team.
inline constexpr Sql kEnsureCursor{"leads_round_robin_ensure", R"SQL(
INSERT INTO round_robin_cursors (tenant_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING)SQL"};
inline constexpr Sql kCursorForUpdate{"leads_round_robin_position", R"SQL(
SELECT position FROM round_robin_cursors WHERE tenant_id = $1 AND team_id = $2 FOR UPDATE)SQL"};
inline constexpr Sql kAdvanceCursor{"leads_round_robin_advance", R"SQL(
UPDATE round_robin_cursors SET position = $3 WHERE tenant_id = $1 AND team_id = $2)SQL"};
inline constexpr Sql kOpenLeadsOf{"leads_open_count", R"SQL(
SELECT count(*) FROM leads WHERE tenant_id = $1 AND owner_id = $2 AND status NOT IN ('CONVERTED', 'UNQUALIFIED'))SQL"};

}  // namespace crm::leads::assignment::sql
