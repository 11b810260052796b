#pragma once
// Statements of the subject-data area (data-subject requests: subject_data.hpp). Names appear in
// crm_db_query_duration_seconds{query}. $1 is the tenant, $2 the subject's contact ids (uuid[]), $3 the blind indexes
// of their e-mails (text[], sealed::CustomerEmailIndex: the addresses are sealed at rest, migration 0104); every case
// lookup goes through cases_tenant_contact or cases_customer_email_index, one probe per id or address.
// The exports read one row per record: its stored (sealed) values as a JSON object, the case id and the wrapped data
// key of its case, with which the service opens them (subject_data.cpp).
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::support::subject_data::sql {

using common::Sql;

// clang-format off
// The subject's cases: linked to one of their contacts, or opened from one of their addresses.
// Each branch runs only when its list is not empty (a one-time filter: an empty list reads nothing).
#define CRM_SUBJECT_CASES                                                                                         \
    "SELECT id FROM cases WHERE cardinality($2::uuid[]) > 0 AND tenant_id = $1 AND contact_id = ANY($2::uuid[]) " \
    "UNION SELECT id FROM cases WHERE cardinality($3::text[]) > 0 AND tenant_id = $1 "                            \
    "AND customer_email_index = ANY($3::text[]) AND customer_email_index <> ''"
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Resolve: the contacts of the cases opened from the subject's addresses, and the addresses of their contacts' cases.
inline constexpr Sql kLinked{"support_subject_linked",
    "SELECT DISTINCT coalesce(contact_id::text, ''), customer_email, id::text, "
    CRM_SUBJECT_KEY_COLUMN("cases.tenant_id", "cases.id::text") " FROM cases "
    "WHERE tenant_id = $1 AND id IN (" CRM_SUBJECT_CASES ")"};

// Export: every record as it is stored (JSON object), its case and its case's wrapped key.
inline constexpr Sql kExportCases{"support_subject_export_cases",
    "SELECT jsonb_build_object('id', c.id, 'number', c.number, 'subject', c.subject, "
    "'description', c.description, 'contact_id', c.contact_id, 'company_id', c.company_id, "
    "'customer_email', c.customer_email, 'product', c.product, 'asset_id', c.asset_id, 'priority', c.priority, "
    "'status', c.status, 'category', c.category, 'tags', c.tags, 'channel', c.channel, "
    "'assignee_id', c.assignee_id, 'language', c.language, 'customer_tier', c.customer_tier, "
    "'custom_fields', c.custom_fields, 'queue_id', c.queue_id, 'merged_into_id', c.merged_into_id, "
    "'first_response_time', c.first_response_time, 'solve_time', c.solve_time, 'close_time', c.close_time, "
    "'reopen_count', c.reopen_count, 'create_time', c.create_time, 'update_time', c.update_time, "
    "'routing_notes', (SELECT coalesce(jsonb_agg(r.note ORDER BY r.create_time), '[]') FROM case_routings r "
    "WHERE r.tenant_id = c.tenant_id AND r.case_id = c.id AND r.note <> ''))::text, c.id::text, "
    CRM_SUBJECT_KEY_COLUMN("c.tenant_id", "c.id::text") " FROM cases c WHERE c.tenant_id = $1 AND c.id IN ("
    CRM_SUBJECT_CASES ") ORDER BY c.create_time, c.id"};
// Every entry of their cases, and what they wrote on other cases (customer messages of one of their contacts).
inline constexpr Sql kExportMessages{"support_subject_export_messages",
    "SELECT jsonb_build_object('id', m.id, 'case_id', m.case_id, 'kind', m.kind, "
    "'channel', m.channel, 'author_id', m.author_id, 'author_name', m.author_name, 'body', m.body, "
    "'attachments', m.attachments, 'phone_call', m.phone_call, 'external_id', m.external_id, "
    "'email_delivery', m.email_delivery, 'sentiment_score', m.sentiment_score, "
    "'sentiment_label', m.sentiment_label, 'occur_time', m.occur_time, 'create_time', m.create_time, "
    "'erase_time', m.erase_time)::text, m.case_id::text, " CRM_SUBJECT_KEY_COLUMN("m.tenant_id", "m.case_id::text")
    " FROM case_messages m "
    "WHERE m.tenant_id = $1 AND m.id IN (SELECT id FROM case_messages WHERE tenant_id = $1 AND case_id IN ("
    CRM_SUBJECT_CASES ") UNION SELECT id FROM case_messages WHERE tenant_id = $1 AND kind = 'CUSTOMER_MESSAGE' "
    "AND author_id = ANY($2::uuid[]::text[])) ORDER BY m.create_time, m.id"};
// Their satisfaction answers: surveys sent to one of their contacts or on one of their cases.
#define CRM_SUBJECT_SURVEYS                                                                                       \
    "SELECT id FROM csat_surveys WHERE tenant_id = $1 AND contact_id = ANY($2::uuid[]) UNION "                    \
    "SELECT id FROM csat_surveys WHERE tenant_id = $1 AND case_id IN (" CRM_SUBJECT_CASES ")"
inline constexpr Sql kExportSurveys{"support_subject_export_surveys",
    "SELECT jsonb_build_object('id', s.id, 'case_id', s.case_id, 'reply_id', s.reply_id, "
    "'contact_id', s.contact_id, 'agent_id', s.agent_id, 'queue_id', s.queue_id, 'score', s.score, "
    "'comment', s.comment, 'solve_time', s.solve_time, 'expire_time', s.expire_time, "
    "'answer_time', s.answer_time, 'create_time', s.create_time)::text, s.case_id::text, "
    CRM_SUBJECT_KEY_COLUMN("s.tenant_id", "s.case_id::text") " FROM csat_surveys s WHERE s.tenant_id = $1 "
    "AND s.id IN (" CRM_SUBJECT_SURVEYS ") ORDER BY s.create_time, s.id"};

// Erase. Entries of their cases (every kind: the customer's words, replies and notes about them, call details,
// attachment names, e-mail Message-IDs): blanked and marked erased; the sentiment score and label stay (numbers).
// Agents' names stay on replies and notes (an employee's name, not the subject's). Customer messages of their
// contacts on other cases are blanked by the conversation area (EraseAuthor, as for ContactErased).
inline constexpr Sql kEraseMessages{"support_subject_erase_messages",
    "UPDATE case_messages SET body = '', author_name = CASE WHEN kind = 'CUSTOMER_MESSAGE' THEN '' "
    "ELSE author_name END, attachments = '', phone_call = '', external_id = '', erase_time = now() "
    "WHERE tenant_id = $1 AND case_id IN (" CRM_SUBJECT_CASES ") AND erase_time IS NULL"};
// Comments on surveys of their cases (those sent to their contacts: the csat area's EraseComments).
inline constexpr Sql kEraseSurveyComments{"support_subject_erase_survey_comments",
    "UPDATE csat_surveys SET comment = '' WHERE tenant_id = $1 AND case_id IN (" CRM_SUBJECT_CASES ") "
    "AND comment <> ''"};
// Routing notes of their cases (free text an agent wrote about the case).
inline constexpr Sql kEraseRoutingNotes{"support_subject_erase_routing_notes",
    "UPDATE case_routings SET note = '' WHERE tenant_id = $1 AND case_id IN (" CRM_SUBJECT_CASES ") "
    "AND note <> ''"};
// The case keeps its id, number, links, status, priority, category, tags, channel, assignee, queue, SLA times and
// counters; subject (required: a fixed marker), description, address (and its blind index) and custom fields go. Run
// last: a case found by its address no longer is once blanked. The changed case ids (their relayed events are purged
// by the kit, and their data keys destroyed: whatever is still sealed under them no longer opens).
inline constexpr Sql kEraseCases{"support_subject_erase_cases",
    "UPDATE cases SET subject = '(erased)', description = '', customer_email = '', customer_email_index = '', "
    "custom_fields = '' WHERE tenant_id = $1 AND id IN (" CRM_SUBJECT_CASES ") AND (subject <> '(erased)' "
    "OR description <> '' OR customer_email <> '' OR custom_fields <> '') RETURNING id::text"};
// The ids of the subject's cases (the aggregates whose relayed events the kit purges).
inline constexpr Sql kCaseIds{"support_subject_case_ids", "SELECT id::text FROM (" CRM_SUBJECT_CASES ") c"};
#undef CRM_SUBJECT_SURVEYS
#undef CRM_MICROS
#undef CRM_SUBJECT_CASES
// clang-format on

}  // namespace crm::support::subject_data::sql
