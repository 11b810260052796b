#pragma once
// Statements of the scoring area: the tenant's scoring rules and predictive model (rows of tenant_settings), the
// engagements a score decays, the training set. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::leads::scoring::sql {

using common::Sql;

inline constexpr Sql kGetSetting{"leads_scoring_setting_get", R"SQL(
SELECT body::text, version, (extract(epoch FROM update_time) * 1000000)::bigint FROM tenant_settings
WHERE tenant_id = $1 AND kind = $2)SQL"};
inline constexpr Sql kPutSetting{"leads_scoring_setting_put", R"SQL(
INSERT INTO tenant_settings (tenant_id, kind, body) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (tenant_id, kind) DO UPDATE SET body = EXCLUDED.body, version = tenant_settings.version + 1,
  update_time = now()
RETURNING version, (extract(epoch FROM update_time) * 1000000)::bigint)SQL"};

inline constexpr Sql kEngagementsOf{"leads_engagements_of", R"SQL(
SELECT type, direction, GREATEST(extract(epoch FROM now() - occur_time), 0) / 86400.0
FROM lead_engagements WHERE tenant_id = $1 AND lead_id = $2::uuid ORDER BY occur_time)SQL"};

// The training set: converted and unqualified leads, and open ones older than $2 days, newest first (a fixed order:
// the same data always gives the same model), with the values the model reads (the sealed ones opened with the last
// column, the lead's wrapped data key).
inline constexpr Sql kTrainingLeads{"leads_training_set", R"SQL(
SELECT id::text, given_name, family_name, email, phone, company_name, job_title, country, region, source,
  campaign_id, owner_id, priority, attributes::text, score, status = 'CONVERTED', )SQL" CRM_SUBJECT_KEY_COLUMN(
                                                              "leads.tenant_id", "leads.id::text") R"SQL(
FROM leads
WHERE tenant_id = $1 AND (status IN ('CONVERTED', 'UNQUALIFIED') OR create_time < now() - make_interval(days => $2::int))
ORDER BY create_time DESC, id LIMIT 20000)SQL"};
inline constexpr Sql kTrainingEngagements{"leads_training_engagements", R"SQL(
SELECT e.lead_id::text, e.type, e.direction, GREATEST(extract(epoch FROM now() - e.occur_time), 0) / 86400.0
FROM lead_engagements e JOIN leads l ON l.tenant_id = e.tenant_id AND l.id = e.lead_id
WHERE e.tenant_id = $1 AND (l.status IN ('CONVERTED', 'UNQUALIFIED')
  OR l.create_time < now() - make_interval(days => $2::int)))SQL"};

}  // namespace crm::leads::scoring::sql
