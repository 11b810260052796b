#pragma once
// Statements of the capture area: web form definitions and the single use of form tokens (with their upkeep). The
// leads themselves are written through the lead record (lifecycle). Names appear in crm_db_query_duration_seconds.
#include "crm/common/db.hpp"

namespace crm::leads::capture::sql {

using common::Sql;

inline constexpr Sql kPutWebForm{"leads_web_form_put", R"SQL(
INSERT INTO web_forms (tenant_id, id, body) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (tenant_id, id) DO UPDATE SET body = EXCLUDED.body, update_time = now()
RETURNING (extract(epoch FROM update_time) * 1000000)::bigint)SQL"};
inline constexpr Sql kGetWebForm{"leads_web_form_get", R"SQL(
SELECT body::text, (extract(epoch FROM update_time) * 1000000)::bigint FROM web_forms WHERE tenant_id = $1 AND id = $2)SQL"};

// A form token is valid once: its nonce is recorded in the transaction of the submission.
inline constexpr Sql kUseNonce{"leads_form_nonce_use", R"SQL(
INSERT INTO web_form_tokens_used (tenant_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1)SQL"};

// Upkeep across tenants (maintenance policies of migration 0002): a token lives at most 24 hours, so a nonce used
// more than two days ago can never be presented again validly.
inline constexpr Sql kMaintenanceOn{"leads_capture_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
inline constexpr Sql kDropUsedNonces{"leads_cleanup_form_tokens", R"SQL(
DELETE FROM web_form_tokens_used WHERE use_time < now() - interval '2 days')SQL"};

}  // namespace crm::leads::capture::sql
