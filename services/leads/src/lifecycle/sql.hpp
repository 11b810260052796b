#pragma once
// Statements of the lifecycle area: the lead record (every whole-row read and write of `leads`), the list, the email
// lock of open leads, engagements. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::leads::lifecycle::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Columns of a lead, in the order ReadLead expects; the last one is the lead's wrapped data key (its personal columns
// are sealed under it, migration 0007).
#define CRM_LEAD_COLUMNS \
    "id::text, given_name, family_name, email, phone, company_name, job_title, country, region, source, "         \
    "campaign_id, owner_id, team_id, priority, status, status_reason, notes, attributes::text, score, "          \
    "score_reasons::text, capture_channel, web_form_id, consent_granted, consent_text, consent_version, " \
    CRM_MICROS("consent_time") ", " CRM_MICROS("first_touch_deadline") ", " CRM_MICROS("first_touch_time") ", " \
    CRM_MICROS("sla_breach_time") ", contact_id::text, company_id::text, opportunity_id, contact_existed, "        \
    "company_existed, " CRM_MICROS("convert_time") ", version, " CRM_MICROS("create_time") ", "                  \
    CRM_MICROS("update_time") ", " CRM_SUBJECT_KEY_COLUMN("leads.tenant_id", "leads.id::text")

inline constexpr const char* kLeadColumns = CRM_LEAD_COLUMNS;

inline constexpr Sql kInsertLead{
    "leads_insert",
    "INSERT INTO leads (tenant_id, id, given_name, family_name, email, "
    "phone, company_name, job_title, country, region, source, campaign_id, owner_id, team_id, priority, notes, "
    "attributes, score, score_reasons, capture_channel, web_form_id, consent_granted, consent_text, consent_version, "
    "consent_time, first_touch_deadline, email_index, phone_index) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, "
    "$10, $11, $12, $13, $14, $15, $16, $17::jsonb, $18, $19::jsonb, $20, $21, $22, $23, $24, "
    "CASE WHEN $25 THEN now() END, now() + $26::bigint * interval '1 second', $27, $28) RETURNING " CRM_LEAD_COLUMNS};

inline constexpr Sql kGetLead{"leads_get",
                              "SELECT " CRM_LEAD_COLUMNS " FROM leads WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kGetLeadForUpdate{
    "leads_get_for_update", "SELECT " CRM_LEAD_COLUMNS " FROM leads WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE"};

// Writes every column a lead's lifecycle changes (not its conversion) with an optimistic version check;
// first_touch_time is set (once) when $23.
inline constexpr Sql kWriteLead{
    "leads_write",
    "UPDATE leads SET given_name = $3, family_name = $4, email = $5, "
    "phone = $6, company_name = $7, job_title = $8, country = $9, region = $10, source = $11, campaign_id = $12, "
    "owner_id = $13, team_id = $14, priority = $15, status = $16, status_reason = $17, notes = $18, "
    "attributes = $19::jsonb, score = $20, score_reasons = $21::jsonb, "
    "first_touch_deadline = timestamptz 'epoch' + $22::bigint * interval '1 microsecond', "
    "first_touch_time = COALESCE(first_touch_time, CASE WHEN $23 THEN now() END), "
    "version = version + $24, update_time = now(), email_index = $26, phone_index = $27 "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $25 RETURNING " CRM_LEAD_COLUMNS};

// ConvertLead's last step in one round trip: locks the lead, checks that its status is one of $8 (text[]), writes the
// conversion's ids ($3-$7; the conversion counts as the first touch) and returns one row when the lead exists: the
// converted lead's columns (all NULL when its status did not allow it: nothing written) and the status it had.
inline constexpr Sql kMarkConverted{
    "leads_mark_converted",
    "WITH cur AS (SELECT id AS cur_id, status AS cur_status FROM leads WHERE tenant_id = $1 AND id = $2::uuid "
    "FOR UPDATE), done AS (UPDATE leads SET status = 'CONVERTED', contact_id = $3::uuid, company_id = $4::uuid, "
    "opportunity_id = $5, contact_existed = $6, company_existed = $7, convert_time = now(), "
    "first_touch_time = COALESCE(first_touch_time, now()), version = version + 1, update_time = now() "
    "FROM cur WHERE tenant_id = $1 AND id = cur_id AND cur_status = ANY($8::text[]) RETURNING " CRM_LEAD_COLUMNS
    ") SELECT done.*, cur_status FROM cur LEFT JOIN done ON true"};

// Open leads are unique per email: creates, web forms and email changes take this lock first, so that two of them
// with one address queue here and the check after it cannot race.
// Takes the lock of an address ($1 = "leads.email:<tenant>:<the e-mail's blind index>") and returns the id of an open
// lead of the tenant ($2) with that e-mail's blind index ($3), or NULL: migration 0007 (one round trip; the look-up
// runs after the lock is held).
inline constexpr Sql kLockOpenByEmail{"leads_lock_open_by_email", "SELECT leads_lock_open_by_email($1, $2, $3)"};

// An engagement's detail is sealed under its lead's data key (migration 0008): both statements return it as stored,
// with the lead's id and wrapped key to open it (ReadEngagement).
#define CRM_ENGAGEMENT_COLUMNS                                                                                 \
    "id::text, type, direction, " CRM_MICROS("occur_time") ", detail, lead_id::text, " CRM_SUBJECT_KEY_COLUMN( \
        "lead_engagements.tenant_id", "lead_engagements.lead_id::text")

inline constexpr Sql kInsertEngagement{
    "leads_engagement_insert",
    "INSERT INTO lead_engagements (tenant_id, id, lead_id, type, direction, occur_time, detail) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, $5, "
    "COALESCE(timestamptz 'epoch' + $6::bigint * interval '1 microsecond', now()), $7) "
    "RETURNING " CRM_ENGAGEMENT_COLUMNS};
inline constexpr Sql kGetEngagement{"leads_engagement_get",
                                    "SELECT " CRM_ENGAGEMENT_COLUMNS
                                    " FROM lead_engagements WHERE tenant_id = $1 AND id = $2::uuid"};

#undef CRM_ENGAGEMENT_COLUMNS
#undef CRM_LEAD_COLUMNS
#undef CRM_MICROS

}  // namespace crm::leads::lifecycle::sql
