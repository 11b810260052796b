#pragma once
// Named SQL of the privacy area: consent and its history, export, erasure. The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Contacts are selected as CRM_CONTACT_COLUMNS and read with people::ReadContact.
#include "crm/common/db.hpp"
#include "people/people.hpp"

namespace crm::contacts::privacy::sql {

using common::Sql;

// clang-format off
// A new consent status ($3) from a source ($4), at the transaction's time; 0 rows when the version moved on ($5).
inline constexpr Sql kSetConsent{"contacts_set_consent",
    "UPDATE contacts AS c SET consent_status = $3, consent_change_time = now(), consent_source = $4, "
    "version = c.version + 1, update_time = now() "
    "WHERE c.tenant_id = $1 AND c.id = $2::uuid AND c.version = $5 RETURNING " CRM_CONTACT_COLUMNS};

// The consent history: one row per change, deleted with the person's other data on erasure.
inline constexpr Sql kInsertConsentLog{"contacts_consent_log_insert",
    "INSERT INTO contact_consent_log (tenant_id, contact_id, status, source, change_time, request_id) "
    "VALUES ($1, $2::uuid, $3, $4, " CRM_AT_MICROS("$5") ", $6)"};

inline constexpr Sql kConsentLog{"contacts_consent_log_select",
    "SELECT l.contact_id::text, l.status, l.source, " CRM_MICROS("l.change_time") " FROM contact_consent_log l "
    "WHERE l.tenant_id = $1 AND l.contact_id = ANY($2::uuid[]) ORDER BY l.change_time, l.id"};

inline constexpr Sql kDeleteConsentLog{"contacts_consent_log_delete",
    "DELETE FROM contact_consent_log WHERE tenant_id = $1 AND contact_id = ANY($2::uuid[])"};

// Contacts merged into $2, directly or through other merged contacts.
inline constexpr Sql kMergedInto{"contacts_merged_into",
    "WITH RECURSIVE merged(id) AS ("
    " SELECT m.id FROM contacts m WHERE m.tenant_id = $1 AND m.merged_into_id = $2::uuid"
    " UNION SELECT m.id FROM contacts m JOIN merged ON m.merged_into_id = merged.id WHERE m.tenant_id = $1) "
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c WHERE c.tenant_id = $1 AND c.id IN (SELECT id FROM merged) "
    "ORDER BY c.create_time, c.id"};

// Clears every personal field of the listed contacts and leaves tombstones.
inline constexpr Sql kEraseContacts{"contacts_erase",
    "UPDATE contacts AS c SET given_name = '', family_name = '', email = '', phone = '', job_title = '', "
    "email_index = '', phone_index = '', "
    "company_id = NULL, owner_id = '', tags = '{}', custom_fields = '{}', given_name_normalized = '', "
    "family_name_normalized = '', full_name_normalized = '', consent_status = 'UNKNOWN', "
    "consent_change_time = NULL, consent_source = '', state = 'ERASED', merged_into_id = NULL, "
    "erase_time = now(), update_time = now(), version = c.version + 1 "
    "WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) AND c.state <> 'ERASED' RETURNING " CRM_CONTACT_COLUMNS};
// Data-subject requests: the contacts of the ids $2 or the e-mails (blind indexes $3) in any state, and the contacts
// merged into $2; with the sealed e-mail and the wrapped key that opens it.
inline constexpr Sql kSubjectContacts{"contacts_subject_find",
    "SELECT c.id::text, c.email, coalesce(c.merged_into_id::text, ''), "
    CRM_SUBJECT_KEY_COLUMN("c.tenant_id", "c.id::text") " FROM contacts c WHERE c.tenant_id = $1 "
    "AND (c.id = ANY($2::uuid[]) OR (c.email_index <> '' AND c.email_index = ANY($3::text[])))"};
inline constexpr Sql kSubjectMerged{"contacts_subject_merged",
    "SELECT c.id::text, c.email, '', " CRM_SUBJECT_KEY_COLUMN("c.tenant_id", "c.id::text")
    " FROM contacts c WHERE c.tenant_id = $1 AND c.merged_into_id = ANY($2::uuid[])"};
inline constexpr Sql kSubjectExport{"contacts_subject_export",
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) "
    "ORDER BY c.create_time, c.id"};
// clang-format on

}  // namespace crm::contacts::privacy::sql
