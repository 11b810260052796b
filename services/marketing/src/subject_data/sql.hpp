#pragma once
// Statements of the subject-data area (subject_data.hpp). Names appear in crm_db_query_duration_seconds{query}. $1 is
// the tenant; $2 ids (uuid[]); $3 addresses (text[]). Lookups are index probes per id or address: audience by primary
// key, audience_contact and audience_email_index; the person's rows by engagements_person_time,
// email_recipients_person, sequence_enrolments_person (through the tenant's sequences: one probe per sequence and
// person) and the suppressions' primary key.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::marketing::subject_data::sql {

using common::Sql;

// clang-format off
// The audience rows of the subject ($2: their contact and lead ids; $3 their addresses' blind indexes): those ids, the leads converted to (and contacts
// merged into) their contacts, and the people with one of their addresses.
// Each branch runs only when its list is not empty (a one-time filter).
inline constexpr Sql kPeople{"marketing_subject_people",
    "SELECT id::text FROM audience WHERE cardinality($2::uuid[]) > 0 AND tenant_id = $1 AND id = ANY($2::uuid[]) "
    "UNION SELECT id::text FROM audience WHERE cardinality($2::uuid[]) > 0 AND tenant_id = $1 "
    "AND contact_id = ANY($2::uuid[]) UNION SELECT id::text FROM audience WHERE cardinality($3::text[]) > 0 "
    "AND tenant_id = $1 AND email_index = ANY($3::text[]) AND email_index <> ''"};
// $2: the people.
inline constexpr Sql kLinked{"marketing_subject_linked",
    "SELECT a.id::text, a.kind, coalesce(a.contact_id::text, ''), a.email, "
    CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " FROM audience a "
    "WHERE a.tenant_id = $1 AND a.id = ANY($2::uuid[])"};

// One row per person: the record as JSON with its sealed values as stored, the person's id and wrapped data key (the
// service opens email, given_name, family_name, job_title, company_name and custom's values).
inline constexpr Sql kExportPeople{"marketing_subject_export_people",
    "SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'state', a.state, 'email', a.email, "
    "'given_name', a.given_name, 'family_name', a.family_name, 'job_title', a.job_title, "
    "'company_name', a.company_name, 'country', a.country, 'lead_source', a.lead_source, "
    "'lead_status', a.lead_status, 'lead_score', a.lead_score, 'consent', a.consent, 'tags', a.tags, "
    "'custom', a.custom, 'campaign_id', a.campaign_id, 'contact_id', a.contact_id, 'create_time', a.create_time, "
    "'update_time', a.update_time, 'segment_ids', (SELECT coalesce(jsonb_agg(m.segment_id ORDER BY m.add_time), "
    "'[]') FROM segment_members m WHERE m.tenant_id = a.tenant_id AND m.person_id = a.id))::text, a.id::text, "
    CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " FROM audience a "
    "WHERE a.tenant_id = $1 AND a.id = ANY($2::uuid[]) ORDER BY a.id"};
inline constexpr Sql kExportEngagements{"marketing_subject_export_engagements",
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'person_id', e.person_id, 'visitor_id', e.visitor_id, "
    "'type', e.type, 'campaign_id', e.campaign_id, 'channel', e.channel, 'occur_time', e.occur_time) "
    "ORDER BY e.occur_time, e.id), '[]')::text, count(*) FROM engagements e "
    "WHERE e.tenant_id = $1 AND e.person_id = ANY($2::uuid[])"};
// One row per message, as kExportPeople: the address is the audience's sealed value (sealed for audience.email).
inline constexpr Sql kExportRecipients{"marketing_subject_export_recipients",
    "SELECT jsonb_build_object('send_id', r.send_id, 'person_id', r.person_id, "
    "'email', r.email, 'status', r.status, 'attempts', r.attempts, 'smtp_code', r.smtp_code, "
    "'sent_time', r.sent_time, 'open_time', r.open_time, 'click_time', r.click_time)::text, r.person_id::text, "
    CRM_SUBJECT_KEY_COLUMN("r.tenant_id", "r.person_id::text") " FROM email_recipients r "
    "WHERE r.tenant_id = $1 AND r.person_id = ANY($2::uuid[]) ORDER BY r.send_id, r.person_id"};
inline constexpr Sql kExportEnrolments{"marketing_subject_export_enrolments",
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'sequence_id', e.sequence_id, "
    "'sequence_version', e.sequence_version, 'person_id', e.person_id, 'status', e.status, "
    "'next_step', e.next_step, 'due_time', e.due_time, 'exit_reason', e.exit_reason, 'enrol_time', e.enrol_time, "
    "'update_time', e.update_time, 'steps', (SELECT coalesce(jsonb_agg(jsonb_build_object('step_id', s.step_id, "
    "'outcome', s.outcome, 'variant', s.variant, 'run_time', s.run_time) ORDER BY s.run_seq), '[]') "
    "FROM sequence_step_runs s WHERE s.tenant_id = e.tenant_id AND s.enrolment_id = e.id)) "
    "ORDER BY e.enrol_time, e.id), '[]')::text, count(*) FROM sequence_enrolments e "
    "WHERE e.tenant_id = $1 AND e.sequence_id IN (SELECT id FROM sequences WHERE tenant_id = $1) "
    "AND e.person_id = ANY($2::uuid[])"};
inline constexpr Sql kCountEnrolments{"marketing_subject_count_enrolments",
    "SELECT count(*) FROM sequence_enrolments WHERE tenant_id = $1 AND sequence_id IN (SELECT id FROM sequences "
    "WHERE tenant_id = $1) AND person_id = ANY($2::uuid[])"};
// The addresses of the people ($2), for their suppressions: sealed, with each person's wrapped key.
inline constexpr Sql kAddresses{"marketing_subject_addresses",
    "SELECT a.id::text, a.email, " CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") " FROM audience a "
    "WHERE a.tenant_id = $1 AND a.id = ANY($2::uuid[]) AND a.email <> ''"};
// $2: the addresses' blind indexes and keyed hashes (text[]); the service names each row's address.
inline constexpr Sql kExportSuppressions{"marketing_subject_export_suppressions",
    "SELECT x.address_key, jsonb_build_object('reason', x.reason, 'create_time', x.create_time)::text "
    "FROM suppressions x WHERE x.tenant_id = $1 AND x.address_key = ANY($2::text[]) "
    "ORDER BY x.create_time, x.address_key"};
// clang-format on

}  // namespace crm::marketing::subject_data::sql
