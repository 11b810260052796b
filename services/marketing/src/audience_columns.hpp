#pragma once
// The column list of an audience row (alias a) as audience::ReadMember reads it: shared by the audience area's
// statements and the segments area's member pages and previews. The last two columns are the person's wrapped data
// key and the tenant, which open the sealed columns (audience/sealed.hpp).
#include "crm/common/sealed_columns.hpp"
#include "sql_time.hpp"

// clang-format off
#define CRM_AUDIENCE_COLUMNS                                                                                        \
    "a.id::text, a.kind, a.state, a.email, a.given_name, a.family_name, a.job_title, a.company_name, a.country, "  \
    "a.lead_source, a.lead_status, a.lead_score, a.consent, array_to_json(a.tags)::text, a.custom::text, "         \
    "coalesce(a.contact_id::text, ''), " CRM_MICROS("a.create_time") ", " CRM_MICROS("a.update_time") ", "        \
    CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text") ", a.tenant_id"
// clang-format on
