#pragma once
// Statements of the conversation area: the entries of a case. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::support::conversation::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
// Columns of an entry, in the order ReadMessage expects; the last one is the wrapped data key of its case, which
// opens its sealed columns (migration 0104).
#define CRM_MESSAGE_COLUMNS \
    "id::text, case_id::text, kind, channel, author_id, author_name, body, attachments, phone_call, "          \
    "external_id, " CRM_MICROS("occur_time") ", " CRM_MICROS("create_time") ", email_delivery, sentiment_score, " \
    "COALESCE(sentiment_label, ''), " CRM_SUBJECT_KEY_COLUMN("case_messages.tenant_id", "case_messages.case_id::text")

inline constexpr Sql kInsertMessage{
    "case_messages_insert",
    "INSERT INTO case_messages (tenant_id, id, case_id, kind, channel, author_id, author_name, body, attachments, "
    "phone_call, external_id, occur_time, sentiment_score, sentiment_label) VALUES ($1, $2::uuid, $3::uuid, $4, $5, "
    "$6, $7, $8, $9, $10, $11, COALESCE(timestamptz 'epoch' + $12::bigint * interval '1 microsecond', "
    "now()), "
    "$13::double precision, $14) "
    "RETURNING " CRM_MESSAGE_COLUMNS};

inline constexpr Sql kGetMessage{
    "case_messages_get", "SELECT " CRM_MESSAGE_COLUMNS " FROM case_messages WHERE tenant_id = $1 AND id = $2::uuid"};

// One page of a case's conversation, oldest first; $5: leave out internal notes.
inline constexpr Sql kListMessages{"case_messages_list", "SELECT " CRM_MESSAGE_COLUMNS R"SQL(
 FROM case_messages WHERE tenant_id = $1 AND case_id = $2::uuid
  AND (create_time, id) > (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid)
  AND (NOT $5::boolean OR kind <> 'INTERNAL_NOTE')
 ORDER BY create_time, id LIMIT $6::int)SQL"};

// What an erased person wrote (customer messages of that contact) is blanked; the entries stay, marked erased.
inline constexpr Sql kEraseMessagesOf{"case_messages_erase_author", R"SQL(
UPDATE case_messages SET body = '', author_name = '', attachments = '', phone_call = '', external_id = '',
       erase_time = now()
 WHERE tenant_id = $1 AND author_id = $2 AND kind = 'CUSTOMER_MESSAGE' AND erase_time IS NULL)SQL"};

// What the SMTP relay said about an e-mailed public reply (after the entry's transaction).
inline constexpr Sql kSetDelivery{"case_messages_set_delivery",
                                  "UPDATE case_messages SET email_delivery = $3 WHERE tenant_id = $1 AND id = $2::uuid "
                                  "RETURNING " CRM_MESSAGE_COLUMNS};

// The Message-IDs of a case's e-mails, oldest first (the References of a reply).
inline constexpr Sql kThreadIds{"case_messages_thread_ids", R"SQL(
SELECT external_id FROM case_messages WHERE tenant_id = $1 AND case_id = $2::uuid AND channel = 'EMAIL'
   AND external_id <> '' ORDER BY create_time, id)SQL"};

// The case an e-mail answers: the most recent entries with one of these Message-IDs ($2, a JSON array of text).
inline constexpr Sql kCaseByMessageIds{"case_messages_by_message_ids", R"SQL(
SELECT case_id::text, id::text, external_id FROM case_messages
 WHERE tenant_id = $1 AND external_id <> '' AND external_id = ANY(ARRAY(SELECT jsonb_array_elements_text($2::jsonb))) ORDER BY create_time DESC LIMIT 50)SQL"};

// A merge moves a loser's ($2) entries, read and locked by kLoserEntries, to the survivor ($3), their sealed columns
// re-sealed under the survivor's key (parallel arrays: $4 ids, $5 author names, $6 bodies, $7 attachments, $8 calls).
inline constexpr Sql kLoserEntries{"case_messages_of_loser",
                                   "SELECT " CRM_MESSAGE_COLUMNS
                                   " FROM case_messages WHERE tenant_id = $1 AND case_id = $2::uuid FOR UPDATE"};
inline constexpr Sql kMoveEntries{"case_messages_move", R"SQL(
UPDATE case_messages AS m SET case_id = $3::uuid, author_name = u.author_name, body = u.body,
       attachments = u.attachments, phone_call = u.phone_call
  FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
       AS u(id, author_name, body, attachments, phone_call)
 WHERE m.tenant_id = $1 AND m.case_id = $2::uuid AND m.id = u.id::uuid)SQL"};

#undef CRM_MESSAGE_COLUMNS
#undef CRM_MICROS

}  // namespace crm::support::conversation::sql
