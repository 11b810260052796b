#pragma once
// Statements of the leads service's data-subject handlers (subject_data.hpp), named for crm_db_query_duration_seconds
// and EXPLAINed as the app role by the leads EXPLAIN test. Parameters of every statement: $1 tenant, $2 the subject's
// contact ids, $3 lead ids (text[] literals of common::ParamsOf; the kit checked the ids are UUIDs), $4 the blind
// indexes of the subject's e-mails (lower case, as leads stores them: the index of a stored e-mail is the same), as a
// text[] literal. The personal columns are sealed (migration 0007): statements return them as stored, with the lead's
// wrapped data key, and the handlers open them.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::leads::subject_data::sql {

using common::Sql;

// The subject's leads: by id (primary key), by converted contact (leads_tenant_contact) and by e-mail's blind index
// (leads_tenant_email, migration 0007: every lead with an e-mail, converted and unqualified ones included). One arm per
// index, so that each is a probe per value and never a scan of the tenant's leads.
#define CRM_SUBJECT_LEADS                                                                \
    "ARRAY(SELECT id FROM leads WHERE tenant_id = $1 AND id = ANY ($3::uuid[]) "         \
    "UNION SELECT id FROM leads WHERE tenant_id = $1 AND contact_id = ANY ($2::uuid[]) " \
    "UNION SELECT id FROM leads WHERE tenant_id = $1 AND email_index = ANY ($4::text[]) AND email_index <> '')"

// What a lead holds about the person (blanked by kEraseLeads; the row keeps id, status, score and its reasons,
// source, campaign, owner and team, priority, country, capture channel, web form id, consent flag and version, the
// conversion's ids and every time).
#define CRM_LEAD_PERSONAL                                                                             \
    "(given_name <> '' OR family_name <> '' OR email <> '' OR phone <> '' OR company_name <> '' OR "  \
    "job_title <> '' OR region <> '' OR notes <> '' OR status_reason <> '' OR consent_text <> '' OR " \
    "attributes <> '{}'::jsonb)"

// The subject's leads with the e-mails (sealed, with the lead's key) and converted contacts they link to the person.
inline constexpr Sql kResolve{"subject_leads_resolve",
                              "SELECT l.id::text, l.email, coalesce(l.contact_id::text, ''), " CRM_SUBJECT_KEY_COLUMN(
                                  "l.tenant_id", "l.id::text") " FROM leads l "
                                                               "WHERE l.tenant_id = $1 AND l.id = ANY (" CRM_SUBJECT_LEADS
                                                               ") ORDER BY l.create_time, l.id"};

// Every column of the subject's leads (tenant and blind indexes aside), one JSON object a row with the lead's key.
inline constexpr Sql kExportLeads{
    "subject_leads_export",
    "SELECT l.id::text, (to_jsonb(l) - 'tenant_id' - 'email_index' - 'phone_index')::text, " CRM_SUBJECT_KEY_COLUMN(
        "l.tenant_id", "l.id::text") " FROM leads l WHERE l.tenant_id = $1 AND l.id = ANY (" CRM_SUBJECT_LEADS
                                     ") ORDER BY l.create_time, l.id"};
// Their engagements (lead_engagements_lead: a probe per lead), one JSON object a row with its lead's key (the detail
// is sealed under it, migration 0008).
inline constexpr Sql kExportEngagements{
    "subject_lead_engagements_export",
    "SELECT e.lead_id::text, (to_jsonb(e) - 'tenant_id')::text, " CRM_SUBJECT_KEY_COLUMN(
        "e.tenant_id", "e.lead_id::text") " FROM lead_engagements e WHERE e.tenant_id = $1 AND e.lead_id = ANY "
                                          "(" CRM_SUBJECT_LEADS ") ORDER BY e.lead_id, e.occur_time, e.id"};

// The free text of their engagements; returns the changed rows' leads. Runs before kEraseLeads (which blanks the
// e-mail a lead may be found by).
inline constexpr Sql kEraseEngagements{
    "subject_lead_engagements_erase",
    "UPDATE lead_engagements SET detail = '' WHERE tenant_id = $1 AND lead_id = ANY (" CRM_SUBJECT_LEADS
    ") AND detail <> '' RETURNING lead_id::text"};
// Blanks the personal fields of the subject's leads (e-mail '' passes the duplicate check and its index, which only
// look at non-empty addresses), marks them anonymised (retention leaves them alone) and returns every matched lead
// with whether it changed. The version stays: no event is written (the lead's earlier events leave the outbox with
// the kit's purge), and writers read a lead FOR UPDATE, so none writes back what it read before the erasure.
inline constexpr Sql kEraseLeads{
    "subject_leads_erase",
    "WITH matched AS (SELECT id FROM leads WHERE tenant_id = $1 AND id = ANY (" CRM_SUBJECT_LEADS
    ") FOR UPDATE), "
    "erased AS (UPDATE leads SET given_name = '', family_name = '', email = '', phone = '', company_name = '', "
    "job_title = '', region = '', notes = '', status_reason = '', consent_text = '', attributes = '{}', "
    "email_index = '', phone_index = '', "
    "anonymise_time = coalesce(anonymise_time, clock_timestamp()) "
    "WHERE tenant_id = $1 AND id IN (SELECT id FROM matched) AND " CRM_LEAD_PERSONAL
    " RETURNING id) "
    "SELECT m.id::text, EXISTS (SELECT 1 FROM erased e WHERE e.id = m.id) FROM matched m"};

#undef CRM_SUBJECT_LEADS
#undef CRM_LEAD_PERSONAL

}  // namespace crm::leads::subject_data::sql
