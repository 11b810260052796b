#pragma once
// Every SQL statement of the leads service, as named constants (the names appear in crm_db_query_duration_seconds).
#include "crm/common/db.hpp"

namespace crm::leads::storage::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_TS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

// Columns of a lead, in the order ReadLead expects.
#define CRM_LEAD_COLUMNS \
    "id::text, given_name, family_name, email, phone, company_name, job_title, country, region, source, "         \
    "campaign_id, owner_id, team_id, priority, status, status_reason, notes, attributes::text, score, "          \
    "score_reasons::text, capture_channel, web_form_id, consent_granted, consent_text, consent_version, " \
    CRM_MICROS("consent_time") ", " CRM_MICROS("first_touch_deadline") ", " CRM_MICROS("first_touch_time") ", " \
    CRM_MICROS("sla_breach_time") ", contact_id::text, company_id::text, opportunity_id, contact_existed, "        \
    "company_existed, " CRM_MICROS("convert_time") ", version, " CRM_MICROS("create_time") ", "                  \
    CRM_MICROS("update_time")

inline constexpr const char* kLeadColumns = CRM_LEAD_COLUMNS;

inline constexpr Sql kLockKey{"leads_lock_key", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"};
inline constexpr Sql kClaimRequest{"leads_idempotency_claim", R"SQL(
INSERT INTO idempotency_keys (tenant_id, operation, request_id, resource_id) VALUES ($1, $2, $3, $4::uuid)
ON CONFLICT DO NOTHING RETURNING 1)SQL"};
inline constexpr Sql kClaimedResource{"leads_idempotency_get", R"SQL(
SELECT resource_id::text FROM idempotency_keys WHERE tenant_id = $1 AND operation = $2 AND request_id = $3)SQL"};

inline constexpr Sql kInsertLead{
    "leads_insert",
    "INSERT INTO leads (tenant_id, id, given_name, family_name, email, "
    "phone, company_name, job_title, country, region, source, campaign_id, owner_id, team_id, priority, notes, "
    "attributes, score, score_reasons, capture_channel, web_form_id, consent_granted, consent_text, consent_version, "
    "consent_time, first_touch_deadline) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15, $16, $17::jsonb, $18, $19::jsonb, $20, $21, $22, $23, $24, CASE WHEN $25 THEN now() END, "
    "now() + $26::bigint * interval '1 second') RETURNING " CRM_LEAD_COLUMNS};

inline constexpr Sql kGetLead{"leads_get",
                              "SELECT " CRM_LEAD_COLUMNS " FROM leads WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kGetLeadForUpdate{
    "leads_get_for_update", "SELECT " CRM_LEAD_COLUMNS " FROM leads WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE"};
inline constexpr Sql kOpenLeadByEmail{"leads_open_by_email", R"SQL(
SELECT id::text FROM leads WHERE tenant_id = $1 AND email = $2 AND email <> ''
  AND status NOT IN ('CONVERTED', 'UNQUALIFIED') LIMIT 1)SQL"};

// Writes every mutable column of a lead with an optimistic version check; first_touch_time is set (once) when $24.
inline constexpr Sql kWriteLead{"leads_write", "UPDATE leads SET given_name = $3, family_name = $4, email = $5, "
    "phone = $6, company_name = $7, job_title = $8, country = $9, region = $10, source = $11, campaign_id = $12, "
    "owner_id = $13, team_id = $14, priority = $15, status = $16, status_reason = $17, notes = $18, "
    "attributes = $19::jsonb, score = $20, score_reasons = $21::jsonb, "
    "first_touch_deadline = " CRM_TS("$22") ", "
    "first_touch_time = COALESCE(first_touch_time, CASE WHEN $23 THEN now() END), "
    "contact_id = $24::uuid, company_id = $25::uuid, opportunity_id = $26, contact_existed = $27, "
    "company_existed = $28, convert_time = CASE WHEN $16 = 'CONVERTED' THEN COALESCE(convert_time, now()) END, "
    "version = version + $29, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $30 RETURNING " CRM_LEAD_COLUMNS};

inline constexpr Sql kEngagementsOf{"leads_engagements_of", R"SQL(
SELECT type, direction, GREATEST(extract(epoch FROM now() - occur_time), 0) / 86400.0
FROM lead_engagements WHERE tenant_id = $1 AND lead_id = $2::uuid ORDER BY occur_time)SQL"};
inline constexpr Sql kInsertEngagement{
    "leads_engagement_insert",
    "INSERT INTO lead_engagements (tenant_id, id, "
    "lead_id, type, direction, occur_time, detail) VALUES ($1, $2::uuid, $3::uuid, $4, $5, COALESCE(" CRM_TS(
        "$6") ", now()), $7) RETURNING id::text, type, direction, " CRM_MICROS("occur_time") ", detail"};
inline constexpr Sql kGetEngagement{
    "leads_engagement_get", "SELECT id::text, type, direction, " CRM_MICROS(
                                "occur_time") ", detail FROM lead_engagements WHERE tenant_id = $1 AND id = $2::uuid"};

inline constexpr Sql kGetSetting{"leads_setting_get", R"SQL(
SELECT body::text, version, (extract(epoch FROM update_time) * 1000000)::bigint FROM tenant_settings
WHERE tenant_id = $1 AND kind = $2)SQL"};
inline constexpr Sql kPutSetting{"leads_setting_put", R"SQL(
INSERT INTO tenant_settings (tenant_id, kind, body) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (tenant_id, kind) DO UPDATE SET body = EXCLUDED.body, version = tenant_settings.version + 1,
  update_time = now()
RETURNING version, (extract(epoch FROM update_time) * 1000000)::bigint)SQL"};

inline constexpr Sql kEnsureCursor{"leads_round_robin_ensure", R"SQL(
INSERT INTO round_robin_cursors (tenant_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING)SQL"};
inline constexpr Sql kCursorForUpdate{"leads_round_robin_position", R"SQL(
SELECT position FROM round_robin_cursors WHERE tenant_id = $1 AND team_id = $2 FOR UPDATE)SQL"};
inline constexpr Sql kAdvanceCursor{"leads_round_robin_advance", R"SQL(
UPDATE round_robin_cursors SET position = $3 WHERE tenant_id = $1 AND team_id = $2)SQL"};
inline constexpr Sql kOpenLeadsOf{"leads_open_count", R"SQL(
SELECT count(*) FROM leads WHERE tenant_id = $1 AND owner_id = $2 AND status NOT IN ('CONVERTED', 'UNQUALIFIED'))SQL"};

inline constexpr Sql kTrainingLeads{
    "leads_training_set",
    "SELECT " CRM_LEAD_COLUMNS
    " FROM leads "
    "WHERE tenant_id = $1 AND (status IN ('CONVERTED', 'UNQUALIFIED') OR create_time < now() - make_interval(days => "
    "$2::int)) ORDER BY create_time DESC, id LIMIT 20000"};
inline constexpr Sql kTrainingEngagements{"leads_training_engagements", R"SQL(
SELECT e.lead_id::text, e.type, e.direction, GREATEST(extract(epoch FROM now() - e.occur_time), 0) / 86400.0
FROM lead_engagements e JOIN leads l ON l.tenant_id = e.tenant_id AND l.id = e.lead_id
WHERE e.tenant_id = $1 AND (l.status IN ('CONVERTED', 'UNQUALIFIED')
  OR l.create_time < now() - make_interval(days => $2::int)))SQL"};

inline constexpr Sql kPutWebForm{"leads_web_form_put", R"SQL(
INSERT INTO web_forms (tenant_id, id, body) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (tenant_id, id) DO UPDATE SET body = EXCLUDED.body, update_time = now()
RETURNING (extract(epoch FROM update_time) * 1000000)::bigint)SQL"};
inline constexpr Sql kGetWebForm{"leads_web_form_get", R"SQL(
SELECT body::text, (extract(epoch FROM update_time) * 1000000)::bigint FROM web_forms WHERE tenant_id = $1 AND id = $2)SQL"};
inline constexpr Sql kUseNonce{"leads_form_nonce_use", R"SQL(
INSERT INTO web_form_tokens_used (tenant_id, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1)SQL"};

inline constexpr Sql kMaintenanceOn{"leads_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
inline constexpr Sql kDueSla{"leads_sla_due", R"SQL(
SELECT tenant_id, id::text FROM leads
WHERE first_touch_deadline <= now() AND first_touch_time IS NULL AND sla_breach_time IS NULL
ORDER BY first_touch_deadline LIMIT $1)SQL"};
inline constexpr Sql kDropUsedTokens{"leads_cleanup_form_tokens", R"SQL(
DELETE FROM web_form_tokens_used WHERE use_time < now() - interval '2 days')SQL"};
inline constexpr Sql kDropIdempotencyKeys{"leads_cleanup_idempotency_keys", R"SQL(
DELETE FROM idempotency_keys WHERE create_time < now() - interval '7 days')SQL"};
inline constexpr Sql kBreachSla{
    "leads_sla_breach",
    "UPDATE leads SET sla_breach_time = now(), version = version + 1, "
    "update_time = now() WHERE tenant_id = $1 AND id = (SELECT id FROM leads WHERE tenant_id = $1 AND id = $2::uuid "
    "AND first_touch_deadline <= now() AND first_touch_time IS NULL AND sla_breach_time IS NULL "
    "FOR UPDATE SKIP LOCKED) RETURNING " CRM_LEAD_COLUMNS};

#undef CRM_LEAD_COLUMNS
#undef CRM_MICROS
#undef CRM_TS

}  // namespace crm::leads::storage::sql
