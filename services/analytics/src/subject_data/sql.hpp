#pragma once
// Statements of analytics' data-subject handlers (subject_data.hpp), named for crm_db_query_duration_seconds and
// EXPLAINed as the app role by the analytics EXPLAIN test. Parameters: $1 tenant, then the subject's ids each
// statement names (text[] literals of common::ParamsOf, UUIDs checked by the kit). Each answers how many facts and the
// facts themselves (every column but the tenant) as one JSON array.
#include "crm/common/db.hpp"

namespace crm::analytics::subject_data::sql {

using common::Sql;

// clang-format off
#define CRM_SUBJECT_JSON(alias, order) \
    "SELECT count(*), coalesce(jsonb_agg(to_jsonb(" alias ") - 'tenant_id' ORDER BY " order "), '[]')::text "
// The deals of the person's leads: any version stating one of their lead ids (analytics_opportunity_versions_lead,
// migration 0040); then every version of those deals by primary key.
#define CRM_SUBJECT_DEALS \
    "ARRAY(SELECT DISTINCT opportunity_id FROM analytics_opportunity_versions WHERE tenant_id = $1 " \
    "AND lead_id = ANY ($2::text[]))"

// $2 contact ids. Contact lifecycle facts (primary key).
inline constexpr Sql kExportContacts{"subject_contact_facts_export",
    CRM_SUBJECT_JSON("f", "f.record_id, f.version, f.event_id") "FROM analytics_record_versions f "
    "WHERE f.tenant_id = $1 AND f.kind = 'contact' AND f.record_id = ANY ($2::uuid[])"};
// $2 lead ids. Lead facts (primary key).
inline constexpr Sql kExportLeads{"subject_lead_facts_export",
    CRM_SUBJECT_JSON("f", "f.lead_id, f.version, f.event_id") "FROM analytics_lead_versions f "
    "WHERE f.tenant_id = $1 AND f.lead_id = ANY ($2::uuid[])"};
// $2 lead ids.
inline constexpr Sql kExportOpportunities{"subject_opportunity_facts_export",
    CRM_SUBJECT_JSON("f", "f.opportunity_id, f.version, f.event_id") "FROM analytics_opportunity_versions f "
    "WHERE f.tenant_id = $1 AND f.opportunity_id = ANY (" CRM_SUBJECT_DEALS ")"};
// $2 contact ids, $3 lead ids. Marketing touches of the person as an audience member, a contact or a lead
// (analytics_campaign_touches_person, migration 0040).
inline constexpr Sql kExportTouches{"subject_campaign_touches_export",
    CRM_SUBJECT_JSON("f", "f.touch_time, f.touch_id") "FROM analytics_campaign_touches f "
    "WHERE f.tenant_id = $1 AND f.person_id = ANY ($2::uuid[] || $3::uuid[])"};
// $2 lead ids. Campaign attributions of their deals (primary key).
inline constexpr Sql kExportAttributions{"subject_campaign_attributions_export",
    CRM_SUBJECT_JSON("f", "f.opportunity_id, f.version, f.event_id") "FROM analytics_campaign_attributions f "
    "WHERE f.tenant_id = $1 AND f.opportunity_id = ANY (" CRM_SUBJECT_DEALS ")"};
// clang-format on

#undef CRM_SUBJECT_DEALS
#undef CRM_SUBJECT_JSON

}  // namespace crm::analytics::subject_data::sql
