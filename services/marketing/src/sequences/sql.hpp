#pragma once
// Named SQL of the sequences area: sequences and their versions, enrolments (the durable timers), step runs, and the
// messages of send_email steps (email_sends / email_recipients rows of the sequence). Every statement filters by
// tenant_id = $1 in addition to row-level security, except the runner's discovery, which runs under the read-only
// maintenance policy.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sql_time.hpp"

namespace crm::marketing::sequences::sql {

using common::Sql;

// clang-format off
#define CRM_SEQUENCE_COLUMNS                                                                                        \
    "s.id::text, s.name, s.description, s.status, v.definition::text, s.version, " CRM_MICROS("s.create_time") ", " \
    CRM_MICROS("s.update_time")
#define CRM_SEQUENCE_FROM                                                                                           \
    " FROM sequences s JOIN sequence_versions v ON v.tenant_id = s.tenant_id AND v.sequence_id = s.id "           \
    "AND v.version = s.version "
inline constexpr Sql kGetSequence{"marketing_sequence_get",
    "SELECT " CRM_SEQUENCE_COLUMNS CRM_SEQUENCE_FROM "WHERE s.tenant_id = $1 AND s.id = $2::uuid"};
inline constexpr Sql kGetSequenceForUpdate{"marketing_sequence_get_for_update",
    "SELECT " CRM_SEQUENCE_COLUMNS CRM_SEQUENCE_FROM "WHERE s.tenant_id = $1 AND s.id = $2::uuid FOR UPDATE OF s"};
inline constexpr Sql kListSequences{"marketing_sequence_list",
    "SELECT " CRM_SEQUENCE_COLUMNS CRM_SEQUENCE_FROM "WHERE s.tenant_id = $1 "
    "AND (s.create_time, s.id) < (" CRM_AT_MICROS("$2") ", $3::uuid) ORDER BY s.create_time DESC, s.id DESC LIMIT $4"};
inline constexpr Sql kInsertSequence{"marketing_sequence_insert",
    "INSERT INTO sequences (tenant_id, id, name, description, status, trigger_type, trigger_value) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7)"};
inline constexpr Sql kWriteSequence{"marketing_sequence_write",
    "UPDATE sequences SET name = $3, description = $4, status = $5, trigger_type = $6, trigger_value = $7, "
    "version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $8 "
    "RETURNING version"};
inline constexpr Sql kInsertVersion{"marketing_sequence_version_insert",
    "INSERT INTO sequence_versions (tenant_id, sequence_id, version, definition, author_id, author_roles) "
    "VALUES ($1, $2::uuid, $3, $4::jsonb, $5, $6)"};
inline constexpr Sql kGetVersion{"marketing_sequence_version_get",
    "SELECT definition::text, author_id, author_roles FROM sequence_versions WHERE tenant_id = $1 "
    "AND sequence_id = $2::uuid AND version = $3"};
// The active sequences an event of this type and value triggers ($3: the values, '' included for "any").
inline constexpr Sql kTriggered{"marketing_sequence_triggered",
    "SELECT s.id::text, s.version FROM sequences s WHERE s.tenant_id = $1 AND s.status = 'ACTIVE' "
    "AND s.trigger_type = $2 AND s.trigger_value = ANY($3::text[]) ORDER BY s.id"};

// ---- enrolments ----------------------------------------------------------------------------------------------------
// The address and the time zone (a custom field) come sealed (audience/sealed.hpp), with the person's wrapped key.
inline constexpr Sql kPersonState{"marketing_sequence_person_state",
    "SELECT a.kind, a.state, a.consent, a.email, coalesce(a.custom->>'time_zone', ''), "
    "EXISTS (SELECT 1 FROM suppressions x WHERE x.tenant_id = $1 AND x.address_key = a.email_index "
    "AND a.email_index <> '' AND x.reason = 'unsubscribed'), "
    "EXISTS (SELECT 1 FROM suppressions x WHERE x.tenant_id = $1 AND x.address_key = a.email_index "
    "AND a.email_index <> ''), a.email_index, " CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " "
    "FROM audience a WHERE a.tenant_id = $1 AND a.id = $2::uuid"};
inline constexpr Sql kEnrol{"marketing_sequence_enrol",
    "INSERT INTO sequence_enrolments (tenant_id, id, sequence_id, sequence_version, person_id, trigger_event_id, "
    "event_seq) VALUES ($1, $2::uuid, $3::uuid, $4, $5::uuid, $6::uuid, 1) ON CONFLICT DO NOTHING "
    "RETURNING " CRM_MICROS("enrol_time")};
inline constexpr Sql kActiveOfPerson{"marketing_sequence_active_of_person",
    "SELECT id::text, sequence_id::text FROM sequence_enrolments WHERE tenant_id = $1 AND person_id = $2::uuid "
    "AND status = 'active' ORDER BY id FOR UPDATE"};
inline constexpr Sql kExit{"marketing_sequence_exit",
    "UPDATE sequence_enrolments SET status = 'exited', exit_reason = $3, event_seq = event_seq + 1, "
    "update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND status = 'active' RETURNING event_seq"};
inline constexpr Sql kForgetPerson{"marketing_sequence_forget_person",
    "UPDATE sequence_enrolments SET person_id = NULL, update_time = now() WHERE tenant_id = $1 "
    "AND person_id = $2::uuid"};
#define CRM_ENROLMENT_COLUMNS                                                                                       \
    "e.id::text, e.sequence_id::text, e.sequence_version, coalesce(e.person_id::text, ''), e.status, e.next_step, " \
    CRM_MICROS("e.due_time") ", e.exit_reason, " CRM_MICROS("e.enrol_time") ", e.event_seq"
inline constexpr Sql kListEnrolments{"marketing_sequence_enrolment_list",
    "SELECT " CRM_ENROLMENT_COLUMNS " FROM sequence_enrolments e WHERE e.tenant_id = $1 AND e.sequence_id = $2::uuid "
    "AND (e.enrol_time, e.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY e.enrol_time DESC, e.id DESC LIMIT $5"};

// ---- the runner ----------------------------------------------------------------------------------------------------
inline constexpr Sql kMaintenanceOn{"marketing_sequence_runner_on", "SELECT set_config('crm.maintenance', 'on', true)"};
// Discovery across tenants: tenants with enrolments due.
inline constexpr Sql kDueTenants{"marketing_sequence_due_tenants",
    "SELECT DISTINCT d.tenant_id FROM (SELECT tenant_id FROM sequence_enrolments WHERE status = 'active' "
    "AND due_time <= now() ORDER BY due_time LIMIT $1) d"};
// In the tenant's transaction: the earliest due enrolment of an active sequence no other replica holds.
inline constexpr Sql kClaimDue{"marketing_sequence_claim_due",
    "SELECT " CRM_ENROLMENT_COLUMNS " FROM sequence_enrolments e WHERE e.tenant_id = $1 AND e.status = 'active' "
    "AND e.due_time <= now() AND EXISTS (SELECT 1 FROM sequences s WHERE s.tenant_id = e.tenant_id "
    "AND s.id = e.sequence_id AND s.status = 'ACTIVE') ORDER BY e.due_time LIMIT 1 FOR UPDATE OF e SKIP LOCKED"};
inline constexpr Sql kSaveEnrolment{"marketing_sequence_save_enrolment",
    "UPDATE sequence_enrolments SET next_step = $3, due_time = " CRM_AT_MICROS("$4") ", event_seq = $5, "
    "status = $6, exit_reason = $7, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kPostpone{"marketing_sequence_postpone",
    "UPDATE sequence_enrolments SET due_time = now() + $3::bigint * interval '1 millisecond' "
    "WHERE tenant_id = $1 AND id = $2::uuid AND status = 'active'"};
inline constexpr Sql kInsertStepRun{"marketing_sequence_step_run",
    "INSERT INTO sequence_step_runs (tenant_id, enrolment_id, step_id, outcome, send_id, variant, run_seq) "
    "VALUES ($1, $2::uuid, $3, $4, $5::uuid, $6, $7) ON CONFLICT DO NOTHING RETURNING 1"};

// ---- messages of send_email steps (through the email sends' tables and sender) -----------------------------------
inline constexpr Sql kSequenceSend{"marketing_sequence_send_get",
    "SELECT id::text FROM email_sends WHERE tenant_id = $1 AND sequence_id = $2::uuid AND sequence_step = $3"};
inline constexpr Sql kInsertSequenceSend{"marketing_sequence_send_insert",
    "INSERT INTO email_sends (tenant_id, id, campaign_id, template_id, segment_id, status, schedule_time, links, "
    "sequence_id, sequence_step) VALUES ($1, $2::uuid, $3::uuid, $4::uuid, NULL, 'SENDING', now(), $5::jsonb, "
    "$6::uuid, $7) ON CONFLICT DO NOTHING RETURNING id::text"};
// $4 the audience's sealed address as it is stored, $5 its blind index.
inline constexpr Sql kQueueMessage{"marketing_sequence_queue_message",
    "INSERT INTO email_recipients (tenant_id, send_id, person_id, email, email_index) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, $5) ON CONFLICT DO NOTHING"};
inline constexpr Sql kCountRecipients{"marketing_sequence_count_recipients",
    "UPDATE email_sends SET recipients = recipients + 1 WHERE tenant_id = $1 AND id = $2::uuid"};
// Whether the person's message of a send_email step was opened / clicked.
inline constexpr Sql kMessageState{"marketing_sequence_message_state",
    "SELECT r.open_time IS NOT NULL, r.click_time IS NOT NULL FROM email_sends s JOIN email_recipients r "
    "ON r.tenant_id = s.tenant_id AND r.send_id = s.id AND r.person_id = $4::uuid "
    "WHERE s.tenant_id = $1 AND s.sequence_id = $2::uuid AND s.sequence_step = $3"};
// A split step's report: per variant, people assigned, people sent a message of the sequence's version after the
// split, people who clicked one.
inline constexpr Sql kSplitReport{"marketing_sequence_split_report",
    "SELECT x.variant, count(*), count(*) FILTER (WHERE m.sent), count(*) FILTER (WHERE m.clicked) "
    "FROM sequence_step_runs x JOIN sequence_enrolments e ON e.tenant_id = x.tenant_id AND e.id = x.enrolment_id "
    "CROSS JOIN LATERAL (SELECT coalesce(bool_or(r.status IN ('sent', 'unconfirmed')), false) AS sent, "
    "coalesce(bool_or(r.click_time IS NOT NULL), false) AS clicked FROM sequence_step_runs y "
    "JOIN email_recipients r ON r.tenant_id = y.tenant_id AND r.send_id = y.send_id AND r.person_id = e.person_id "
    "WHERE y.tenant_id = x.tenant_id AND y.enrolment_id = x.enrolment_id AND y.send_id IS NOT NULL "
    "AND y.run_seq > x.run_seq) m "
    "WHERE x.tenant_id = $1 AND x.step_id = $3 AND x.variant <> '' AND e.sequence_id = $2::uuid "
    "AND e.sequence_version = $4 GROUP BY x.variant"};
// clang-format on

}  // namespace crm::marketing::sequences::sql
