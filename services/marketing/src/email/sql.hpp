#pragma once
// Named SQL of the email area: sender settings, templates, sends, recipients (one row per send and person) and
// suppressions. Every statement filters by tenant_id = $1 in addition to row-level security, except the sender's
// discovery, which runs under the read-only maintenance policy.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sql_time.hpp"

namespace crm::marketing::email::sql {

using common::Sql;

// clang-format off
inline constexpr Sql kGetSettings{"marketing_email_settings_get",
    "SELECT from_email, from_name, reply_to, rate_per_minute, version FROM email_settings WHERE tenant_id = $1"};
inline constexpr Sql kUpsertSettings{"marketing_email_settings_upsert",
    "INSERT INTO email_settings (tenant_id, from_email, from_name, reply_to, rate_per_minute) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET from_email = EXCLUDED.from_email, "
    "from_name = EXCLUDED.from_name, reply_to = EXCLUDED.reply_to, rate_per_minute = EXCLUDED.rate_per_minute, "
    "version = email_settings.version + 1 WHERE email_settings.version = $6 RETURNING version"};

#define CRM_TEMPLATE_COLUMNS "t.id::text, t.name, t.subject, t.html_body, t.text_body, " CRM_MICROS("t.create_time")
inline constexpr Sql kGetTemplate{"marketing_template_get",
    "SELECT " CRM_TEMPLATE_COLUMNS " FROM email_templates t WHERE t.tenant_id = $1 AND t.id = $2::uuid"};
inline constexpr Sql kInsertTemplate{"marketing_template_insert",
    "INSERT INTO email_templates (tenant_id, id, name, subject, html_body, text_body) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6)"};

#define CRM_SEND_COLUMNS                                                                                            \
    "s.id::text, s.campaign_id::text, s.template_id::text, coalesce(s.segment_id::text, ''), " CRM_MICROS("s.schedule_time") ", " \
    "s.status, s.recipients, s.skipped, "                                                                          \
    "(SELECT count(*) FILTER (WHERE r.status = 'sent') || ',' || count(*) FILTER (WHERE r.status = 'bounced') || ',' " \
    "|| count(*) FILTER (WHERE r.status = 'failed') || ',' || count(*) FILTER (WHERE r.status = 'unconfirmed') "   \
    "FROM email_recipients r WHERE r.tenant_id = s.tenant_id AND r.send_id = s.id), "                             \
    CRM_MICROS("s.create_time") ", " CRM_MICROS("s.complete_time") ", s.links::text"
inline constexpr Sql kGetSend{"marketing_send_get",
    "SELECT " CRM_SEND_COLUMNS " FROM email_sends s WHERE s.tenant_id = $1 AND s.id = $2::uuid"};
inline constexpr Sql kInsertSend{"marketing_send_insert",
    "INSERT INTO email_sends (tenant_id, id, campaign_id, template_id, segment_id, schedule_time) "
    "VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5::uuid, " CRM_AT_MICROS("$6") ")"};

// ---- the sender --------------------------------------------------------------------------------------------------
inline constexpr Sql kMaintenanceOn{"marketing_sender_on", "SELECT set_config('crm.maintenance', 'on', true)"};
// Discovery across tenants: sends due to start, tenants with messages due, claims that outlived their lease.
inline constexpr Sql kDueSends{"marketing_sender_due_sends",
    "SELECT tenant_id, id::text FROM email_sends WHERE status = 'SCHEDULED' AND schedule_time <= now() "
    "ORDER BY schedule_time LIMIT $1"};
// A sequence's send stays SENDING (its messages are queued as people reach the step): taken only while it has some.
inline constexpr Sql kSendingSends{"marketing_sender_sending",
    "SELECT s.tenant_id, s.id::text FROM email_sends s WHERE s.status = 'SENDING' AND (s.sequence_id IS NULL "
    "OR EXISTS (SELECT 1 FROM email_recipients r WHERE r.send_id = s.id AND r.tenant_id = s.tenant_id "
    "AND r.status = 'pending')) LIMIT $1"};
inline constexpr Sql kExpiredClaims{"marketing_sender_expired_claims",
    "SELECT DISTINCT tenant_id FROM email_recipients WHERE status = 'sending' "
    "AND claim_time < now() - $1::bigint * interval '1 millisecond'"};
// In the tenant's transaction.
inline constexpr Sql kClaimSend{"marketing_sender_claim_send",
    "SELECT s.campaign_id::text, s.template_id::text, s.segment_id::text FROM email_sends s WHERE s.tenant_id = $1 "
    "AND s.id = $2::uuid AND s.status = 'SCHEDULED' FOR UPDATE SKIP LOCKED"};
// The recipients: members with an address, active, OPTED_IN, not suppressed; one row each (a person whose address
// another member shares gets it once: equal addresses have equal blind indexes). The address is the audience's
// sealed value copied as it is (audience/sealed.hpp), with its index.
inline constexpr Sql kExpandRecipients{"marketing_sender_expand",
    "INSERT INTO email_recipients (tenant_id, send_id, person_id, email, email_index) "
    "SELECT DISTINCT ON (a.email_index) $1, $2::uuid, a.id, a.email, a.email_index FROM segment_members m "
    "JOIN audience a ON a.tenant_id = m.tenant_id AND a.id = m.person_id WHERE m.tenant_id = $1 "
    "AND m.segment_id = $3::uuid AND a.state = 'active' AND a.consent = 'opted_in' AND a.email_index <> '' "
    "AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.tenant_id = $1 AND x.address_key = a.email_index) "
    "ORDER BY a.email_index, a.id ON CONFLICT DO NOTHING"};
// Suppressions of people erased before migration 0021 are kept as keyed hashes (domain/suppression.hpp), which SQL
// cannot compute: once expanded, the send's recipients whose address hashes to one of them ($2, text[]) are dropped
// (counted skipped). Only for a tenant that has such suppressions (opening every recipient's address costs).
inline constexpr Sql kHasHashedSuppressions{"marketing_sender_has_hashed",
    "SELECT EXISTS (SELECT 1 FROM suppressions WHERE tenant_id = $1 AND address_key LIKE 'hmac-sha256:%')"};
inline constexpr Sql kExpandedRecipients{"marketing_sender_expanded",
    "SELECT r.person_id::text, r.email, " CRM_SUBJECT_KEY_COLUMN("r.tenant_id", "r.person_id::text") " "
    "FROM email_recipients r WHERE r.tenant_id = $1 AND r.send_id = $2::uuid AND r.status = 'pending'"};
inline constexpr Sql kSuppressedHashes{"marketing_sender_suppressed_hashes",
    "SELECT address_key FROM suppressions WHERE tenant_id = $1 AND address_key = ANY($2::text[])"};
inline constexpr Sql kDropRecipients{"marketing_sender_drop_recipients",
    "DELETE FROM email_recipients WHERE tenant_id = $1 AND send_id = $2::uuid AND person_id = ANY($3::uuid[])"};
inline constexpr Sql kMemberCount{"marketing_sender_member_count",
    "SELECT count(*) FROM segment_members WHERE tenant_id = $1 AND segment_id = $2::uuid"};
inline constexpr Sql kStartSend{"marketing_sender_start_send",
    "UPDATE email_sends SET status = 'SENDING', recipients = $3, skipped = $4, links = $5::jsonb "
    "WHERE tenant_id = $1 AND id = $2::uuid"};
// Due messages of one send, claimed for this process: the claim commits before the relay is called. The due ids are
// taken once (an InitPlan) and the rows updated by primary key: as a join, a plan made before the table's statistics
// know the send's new rows (rows=1) ran the locking subquery again for every recipient of the send (a send to 20,000
// people hit the statement timeout on every round; tests/bench/marketing_send.sh).
inline constexpr Sql kClaimRecipients{"marketing_sender_claim",
    "UPDATE email_recipients r SET status = 'sending', attempts = attempts + 1, claim_time = now() "
    "WHERE r.tenant_id = $1 AND r.send_id = $2::uuid AND r.person_id = ANY (ARRAY("
    "SELECT person_id FROM email_recipients WHERE tenant_id = $1 AND send_id = $2::uuid AND status = 'pending' "
    "AND next_attempt_time <= now() ORDER BY next_attempt_time LIMIT $3 FOR UPDATE SKIP LOCKED)) "
    "RETURNING r.person_id::text, r.email, r.attempts, r.email_index, "
    CRM_SUBJECT_KEY_COLUMN("r.tenant_id", "r.person_id::text")};
// $3 the address's blind index, $4 its keyed hash (suppressions kept from before migration 0021).
inline constexpr Sql kRecipientPerson{"marketing_sender_person",
    "SELECT a.given_name, a.family_name, a.job_title, a.company_name, a.consent, a.state, "
    "EXISTS (SELECT 1 FROM suppressions x WHERE x.tenant_id = $1 AND x.address_key IN ($3, $4)), "
    CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " FROM audience a WHERE a.tenant_id = $1 AND a.id = $2::uuid"};
inline constexpr Sql kRecordOutcome{"marketing_sender_outcome",
    "UPDATE email_recipients SET status = $4, smtp_code = $5, next_attempt_time = now() + $6::bigint * "
    "interval '1 millisecond', sent_time = CASE WHEN $4 = 'sent' THEN now() ELSE sent_time END "
    "WHERE tenant_id = $1 AND send_id = $2::uuid AND person_id = $3::uuid AND status = 'sending' RETURNING 1"};
inline constexpr Sql kExpireClaims{"marketing_sender_expire_claims",
    "UPDATE email_recipients SET status = 'unconfirmed' WHERE tenant_id = $1 AND status = 'sending' "
    "AND claim_time < now() - $2::bigint * interval '1 millisecond'"};
inline constexpr Sql kCompleteSend{"marketing_sender_complete",
    "UPDATE email_sends s SET status = 'COMPLETED', complete_time = now() WHERE s.tenant_id = $1 AND s.id = $2::uuid "
    "AND s.status = 'SENDING' AND s.sequence_id IS NULL AND NOT EXISTS (SELECT 1 FROM email_recipients r WHERE r.tenant_id = $1 "
    "AND r.send_id = $2::uuid AND r.status IN ('pending', 'sending')) RETURNING 1"};
inline constexpr Sql kNextEvent{"marketing_send_next_event",
    "UPDATE email_sends SET event_seq = event_seq + 1 WHERE tenant_id = $1 AND id = $2::uuid RETURNING event_seq"};
// $2 the address's blind index.
inline constexpr Sql kSuppress{"marketing_suppress",
    "INSERT INTO suppressions (tenant_id, address_key, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"};
// clang-format on

}  // namespace crm::marketing::email::sql
