#pragma once
// Statements of the sales service's data-subject handlers (subject_data.hpp), named for crm_db_query_duration_seconds
// and EXPLAINed as the app role by the sales EXPLAIN test. Parameters: $1 tenant, $2 the subject's contact ids, $3 lead
// ids (text[] literals of common::ParamsOf, UUIDs checked by the kit). Sales keeps no e-mail address of a person. The
// personal columns are sealed (migration 0007): the exports of deals and activities return a row per record, as
// stored, with the record's wrapped data key, and the handlers open them.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sealed.hpp"

namespace crm::sales::subject_data::sql {

using common::Sql;

// What replaces a required title (opportunity name, activity subject, quote title) of an erased record.
inline constexpr const char* kErasedMarker = sealed::kErasedMarker;

// clang-format off
// The person's opportunities: by contact (opportunities_tenant_contact) and by lead (opportunities_tenant_lead,
// migration 0006), one arm per index.
#define CRM_SUBJECT_OPPORTUNITIES                                                                            \
    "ARRAY(SELECT id FROM opportunities WHERE tenant_id = $1 AND contact_id = ANY ($2::uuid[]) "             \
    "UNION SELECT id FROM opportunities WHERE tenant_id = $1 AND lead_id = ANY ($3::uuid[]))"
// The person's activities: those linked to their contact (activities_contact) or lead (activities_lead), and those of
// their opportunities that name no contact or lead (activities_opportunity): an activity of their deal that names
// someone else is about that person, not this one.
#define CRM_SUBJECT_ACTIVITIES                                                                               \
    "ARRAY(SELECT id FROM activities WHERE tenant_id = $1 AND contact_id = ANY ($2::uuid[]) "                \
    "UNION SELECT id FROM activities WHERE tenant_id = $1 AND lead_id = ANY ($3::uuid[]) "                   \
    "UNION SELECT id FROM activities WHERE tenant_id = $1 AND opportunity_id = ANY (" CRM_SUBJECT_OPPORTUNITIES \
    ") AND contact_id IS NULL AND lead_id IS NULL)"
// The quotes of their opportunities (quotes_opportunity).
#define CRM_SUBJECT_QUOTES                                                                                   \
    "ARRAY(SELECT id FROM quotes WHERE tenant_id = $1 AND opportunity_id = ANY (" CRM_SUBJECT_OPPORTUNITIES "))"

#define CRM_SUBJECT_EXPORT(table, alias, set, order)                                                         \
    "SELECT count(*), coalesce(jsonb_agg(to_jsonb(" alias ") - 'tenant_id' ORDER BY " order "), '[]')::text " \
    "FROM " table " " alias " WHERE " alias ".tenant_id = $1 AND " alias ".id = ANY (" set ")"

// Every column of the records (tenant aside) as one JSON object a row, with the record's wrapped data key. An
// opportunity comes with its stage history (stages it went through, by whom of the team, when).
inline constexpr Sql kExportOpportunities{"subject_opportunities_export",
    "SELECT o.id::text, ((to_jsonb(o) - 'tenant_id') || jsonb_build_object('stage_history', "
    "(SELECT coalesce(jsonb_agg(to_jsonb(h) - 'tenant_id' ORDER BY h.seq), '[]') FROM stage_history h "
    "WHERE h.tenant_id = o.tenant_id AND h.opportunity_id = o.id)))::text, "
    CRM_SUBJECT_KEY_COLUMN("o.tenant_id", "o.id::text") " FROM opportunities o WHERE o.tenant_id = $1 AND o.id = ANY ("
    CRM_SUBJECT_OPPORTUNITIES ") ORDER BY o.create_time, o.id"};
inline constexpr Sql kExportActivities{"subject_activities_export",
    "SELECT a.id::text, (to_jsonb(a) - 'tenant_id')::text, " CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text")
    " FROM activities a WHERE a.tenant_id = $1 AND a.id = ANY (" CRM_SUBJECT_ACTIVITIES ") ORDER BY a.create_time, a.id"};
// Quotes hold nothing sealed: one JSON array, and how many.
inline constexpr Sql kExportQuotes{"subject_quotes_export",
    CRM_SUBJECT_EXPORT("quotes", "q", CRM_SUBJECT_QUOTES, "q.create_time, q.id")};

// Erasures: free text about the person goes, amounts, currencies, stages, statuses, links, owners and times stay. The
// version stays too: no event is written (the records' earlier events leave the outbox with the kit's purge), and
// writers read a record FOR UPDATE before they write it back. Each returns every matched record with whether it
// changed (a repeated erasure changes none, and still names them for the purge).
// Opportunities: the name (a deal is often named after its person; which names do is not knowable, so every name of
// the person's deals becomes the marker), description and lost reason.
inline constexpr Sql kEraseOpportunities{"subject_opportunities_erase",
    "WITH matched AS (SELECT id FROM opportunities WHERE tenant_id = $1 AND id = ANY (" CRM_SUBJECT_OPPORTUNITIES
    ") FOR UPDATE), erased AS (UPDATE opportunities SET name = $4, description = '', lost_reason = '' "
    "WHERE tenant_id = $1 AND id IN (SELECT id FROM matched) AND (name <> $4 OR description <> '' OR "
    "lost_reason <> '') RETURNING id) "
    "SELECT m.id::text, EXISTS (SELECT 1 FROM erased e WHERE e.id = m.id) FROM matched m"};
// Activities: subject, description and outcome (a subject blanked by retention counts as blank already). The order
// of the erasures does not matter: records are found by their links, which stay.
inline constexpr Sql kEraseActivities{"subject_activities_erase",
    "WITH matched AS (SELECT id FROM activities WHERE tenant_id = $1 AND id = ANY (" CRM_SUBJECT_ACTIVITIES
    ") FOR UPDATE), erased AS (UPDATE activities SET subject = $4, description = '', outcome = '', "
    "anonymise_time = coalesce(anonymise_time, clock_timestamp()) "
    "WHERE tenant_id = $1 AND id IN (SELECT id FROM matched) AND (subject NOT IN ($4, '(removed by retention)') OR "
    "description <> '' OR outcome <> '') RETURNING id) "
    "SELECT m.id::text, EXISTS (SELECT 1 FROM erased e WHERE e.id = m.id) FROM matched m"};
// Quotes of their deals: the title and the rejection reason (line items name products and prices, not the person).
inline constexpr Sql kEraseQuotes{"subject_quotes_erase",
    "WITH matched AS (SELECT id FROM quotes WHERE tenant_id = $1 AND id = ANY (" CRM_SUBJECT_QUOTES
    ") FOR UPDATE), erased AS (UPDATE quotes SET title = $4, rejection_reason = '' "
    "WHERE tenant_id = $1 AND id IN (SELECT id FROM matched) AND (title <> $4 OR rejection_reason <> '') "
    "RETURNING id) SELECT m.id::text, EXISTS (SELECT 1 FROM erased e WHERE e.id = m.id) FROM matched m"};
// clang-format on

#undef CRM_SUBJECT_EXPORT
#undef CRM_SUBJECT_QUOTES
#undef CRM_SUBJECT_ACTIVITIES
#undef CRM_SUBJECT_OPPORTUNITIES

}  // namespace crm::sales::subject_data::sql
