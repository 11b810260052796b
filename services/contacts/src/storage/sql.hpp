#pragma once
// Named SQL of the contacts repository. The names label crm_db_query_duration_seconds{query}. Every statement
// filters by tenant_id = $1 in addition to the row-level security policy. Times travel as microseconds since the
// epoch (bigint), arrays as PostgreSQL array literals or JSON text, custom fields as JSON text.
//
// Prefix search uses ~>=~ / ~<~ ranges instead of LIKE: under row-level security only leakproof operators can be
// index conditions (see migrations/0001_init.sql).
#include "crm/common/db.hpp"

namespace crm::contacts::storage::sql {

using common::Sql;

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT_MICROS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

// Column list read by ReadContact (storage/rows.cpp), in this order.
#define CRM_CONTACT_COLUMNS                                                                                        \
    "c.id::text, c.given_name, c.family_name, c.email, c.phone, c.job_title, coalesce(c.company_id::text, ''), "  \
    "c.owner_id, array_to_json(c.tags)::text, c.custom_fields::text, c.consent_status, "                          \
    CRM_MICROS("c.consent_change_time") ", c.consent_source, c.state, coalesce(c.merged_into_id::text, ''), "     \
    CRM_MICROS("c.create_time") ", " CRM_MICROS("c.update_time") ", " CRM_MICROS("c.delete_time") ", "            \
    CRM_MICROS("c.erase_time") ", c.version"

// Column list read by ReadCompany.
#define CRM_COMPANY_COLUMNS                                                                                        \
    "co.id::text, co.name, co.domain, co.industry, co.owner_id, array_to_json(co.tags)::text, "                   \
    "co.custom_fields::text, " CRM_MICROS("co.create_time") ", " CRM_MICROS("co.update_time") ", "                \
    CRM_MICROS("co.delete_time") ", co.version"

// Column list read by ReadDefinition.
#define CRM_DEFINITION_COLUMNS                                                                                     \
    "d.id::text, d.entity, d.key, d.label, d.type, d.required, array_to_json(d.allowed_values)::text, "           \
    CRM_MICROS("d.create_time")

// The writable columns of a contact, set from $3..$17 by kInsertContact and kWriteContact.
#define CRM_CONTACT_VALUES                                                                                         \
    "$3, $4, $5, $6, $7, $8::uuid, $9, ARRAY(SELECT jsonb_array_elements_text($10::jsonb)), $11::jsonb, "         \
    "$12, $13, $14, $15, " CRM_AT_MICROS("$16") ", $17"
#define CRM_CONTACT_VALUE_COLUMNS                                                                                  \
    "given_name, family_name, email, phone, job_title, company_id, owner_id, tags, custom_fields, "               \
    "given_name_normalized, family_name_normalized, full_name_normalized, consent_status, consent_change_time, "  \
    "consent_source"

// --- idempotency -------------------------------------------------------------------------------------------------
inline constexpr Sql kClaimRequest{"contacts_idempotency_claim", R"SQL(
INSERT INTO idempotency_keys (tenant_id, operation, request_id, resource_id) VALUES ($1, $2, $3, $4::uuid)
ON CONFLICT DO NOTHING RETURNING resource_id::text)SQL"};
inline constexpr Sql kClaimedResource{"contacts_idempotency_get", R"SQL(
SELECT resource_id::text FROM idempotency_keys WHERE tenant_id = $1 AND operation = $2 AND request_id = $3)SQL"};

// Serializes creates of one email address within a tenant (ALREADY_EXISTS check without a race).
inline constexpr Sql kLockKey{"contacts_lock_key", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"};

// --- contacts ----------------------------------------------------------------------------------------------------
inline constexpr Sql kInsertContact{"contacts_insert",
    "INSERT INTO contacts AS c (tenant_id, id, " CRM_CONTACT_VALUE_COLUMNS ") VALUES ($1, $2::uuid, "
    CRM_CONTACT_VALUES ") RETURNING " CRM_CONTACT_COLUMNS};

// Optimistic write of every writable column: 0 rows when the version moved on ($18 = expected version).
inline constexpr Sql kWriteContact{"contacts_write",
    "UPDATE contacts AS c SET (" CRM_CONTACT_VALUE_COLUMNS ") = (" CRM_CONTACT_VALUES "), "
    "version = c.version + 1, update_time = now() "
    "WHERE c.tenant_id = $1 AND c.id = $2::uuid AND c.version = $18 RETURNING " CRM_CONTACT_COLUMNS};

inline constexpr Sql kGetContact{"contacts_get",
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c WHERE c.tenant_id = $1 AND c.id = $2::uuid"};

// Locks survivor and losers in id order (no deadlock between concurrent merges). $2 = uuid[] literal.
inline constexpr Sql kLockContacts{"contacts_lock_many",
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) "
    "ORDER BY c.id FOR UPDATE"};

inline constexpr Sql kActiveIdByEmail{"contacts_active_by_email",
    "SELECT c.id::text FROM contacts c WHERE c.tenant_id = $1 AND c.state = 'ACTIVE' AND c.delete_time IS NULL "
    "AND c.email = $2 LIMIT 1"};

inline constexpr Sql kSoftDeleteContact{"contacts_soft_delete",
    "UPDATE contacts AS c SET delete_time = now(), update_time = now(), version = c.version + 1 "
    "WHERE c.tenant_id = $1 AND c.id = $2::uuid AND c.version = $3 RETURNING " CRM_CONTACT_COLUMNS};

inline constexpr Sql kSetConsent{"contacts_set_consent",
    "UPDATE contacts AS c SET consent_status = $3, consent_change_time = now(), consent_source = $4, "
    "version = c.version + 1, update_time = now() "
    "WHERE c.tenant_id = $1 AND c.id = $2::uuid AND c.version = $5 RETURNING " CRM_CONTACT_COLUMNS};

inline constexpr Sql kInsertConsentLog{"contacts_consent_log_insert",
    "INSERT INTO contact_consent_log (tenant_id, contact_id, status, source, change_time, request_id) "
    "VALUES ($1, $2::uuid, $3, $4, " CRM_AT_MICROS("$5") ", $6)"};

inline constexpr Sql kConsentLog{"contacts_consent_log_select",
    "SELECT l.contact_id::text, l.status, l.source, " CRM_MICROS("l.change_time") " FROM contact_consent_log l "
    "WHERE l.tenant_id = $1 AND l.contact_id = ANY($2::uuid[]) ORDER BY l.change_time, l.id"};

inline constexpr Sql kDeleteConsentLog{"contacts_consent_log_delete",
    "DELETE FROM contact_consent_log WHERE tenant_id = $1 AND contact_id = ANY($2::uuid[])"};

inline constexpr Sql kMarkMerged{"contacts_mark_merged",
    "UPDATE contacts AS c SET state = 'MERGED', merged_into_id = $3::uuid, "
    "delete_time = coalesce(c.delete_time, now()), update_time = now(), version = c.version + 1 "
    "WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])"};

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
    "company_id = NULL, owner_id = '', tags = '{}', custom_fields = '{}', given_name_normalized = '', "
    "family_name_normalized = '', full_name_normalized = '', consent_status = 'UNKNOWN', "
    "consent_change_time = NULL, consent_source = '', state = 'ERASED', merged_into_id = NULL, "
    "erase_time = now(), update_time = now(), version = c.version + 1 "
    "WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) AND c.state <> 'ERASED' RETURNING " CRM_CONTACT_COLUMNS};

// Keyset pages: (sort time, id) > cursor ($2 micros, $3 id); $4 show_deleted; $5 owner or ''; $6 company or NULL;
// $7 limit; then the variant's own parameters: $8 tag (by tag), $8 updated_after micros (updated), both (updated by
// tag, $9 = tag). The tag variants join contact_tags rather than test an OR-ed sub-select, which the planner could
// not turn into an index-driven join.
#define CRM_LIST_CONTACTS(sort_col, extra_from, extra_where)                                                       \
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c " extra_from                                                   \
    " WHERE c.tenant_id = $1 AND c.state = 'ACTIVE' AND ($4 OR c.delete_time IS NULL)"                            \
    " AND ($5 = '' OR c.owner_id = $5) AND ($6::uuid IS NULL OR c.company_id = $6::uuid)" extra_where              \
    " AND (c." sort_col ", c.id) > (" CRM_AT_MICROS("$2") ", $3::uuid)"                                             \
    " ORDER BY c." sort_col ", c.id LIMIT $7"
#define CRM_TAG_JOIN(param) \
    "JOIN contact_tags t ON t.tenant_id = c.tenant_id AND t.contact_id = c.id AND t.tag = " param

inline constexpr Sql kListContacts{"contacts_list", CRM_LIST_CONTACTS("create_time", "", "")};
inline constexpr Sql kListContactsByTag{"contacts_list_by_tag",
    CRM_LIST_CONTACTS("create_time", CRM_TAG_JOIN("$8"), "")};
inline constexpr Sql kListContactsUpdated{"contacts_list_updated",
    CRM_LIST_CONTACTS("update_time", "", " AND c.update_time > " CRM_AT_MICROS("$8"))};
inline constexpr Sql kListContactsUpdatedByTag{"contacts_list_updated_by_tag",
    CRM_LIST_CONTACTS("update_time", CRM_TAG_JOIN("$9"), " AND c.update_time > " CRM_AT_MICROS("$8"))};

// Prefix search. $2/$3: range of the leading term over names and email; $4/$5: range over the phone; $6/$7: text[]
// literals of the ranges of further terms, each of which must match a name or the email; cursor $8/$9; limit $10.
// The search conditions shared by both steps: the lead term $2..$3 (and its phone form $4..$5) as a prefix of a name,
// the email or the phone, and every other term ($6 lows, $7 highs) as a prefix of a name or the email.
#define CRM_SEARCH_MATCHES                                                                                          \
    " AND ((c.given_name_normalized ~>=~ $2 AND c.given_name_normalized ~<~ $3)"                                   \
    "   OR (c.family_name_normalized ~>=~ $2 AND c.family_name_normalized ~<~ $3)"                                 \
    "   OR (c.email ~>=~ $2 AND c.email ~<~ $3)"                                                                   \
    "   OR (c.phone ~>=~ $4 AND c.phone ~<~ $5))"                                                                  \
    " AND NOT EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[]) AS term(lo, hi)"                                \
    "   WHERE NOT ((c.given_name_normalized ~>=~ term.lo AND c.given_name_normalized ~<~ term.hi)"                 \
    "     OR (c.family_name_normalized ~>=~ term.lo AND c.family_name_normalized ~<~ term.hi)"                     \
    "     OR (c.email ~>=~ term.lo AND c.email ~<~ term.hi)))"

// Search runs in two steps, so that its cost follows the number of matches and never the tenant's size:
// 1. kSearchContactsRecent: the same conditions over a window, the next $11 contacts of the tenant in page order
//    after the cursor (a walk of contacts_tenant_create). A prefix that is common near the cursor fills its page
//    there, and that page is exactly the one step 2 would return (any match after the window comes later).
// 2. Otherwise kSearchContacts, planned without plain index scans (kSearchCollectMatches): the matches are collected
//    from the prefix indexes (bitmap scans) and sorted. Left to itself, the planner walked contacts_tenant_create in
//    page order whenever it guessed a prefix common; a prefix whose few matches lay at the end of a 100,000-contact
//    tenant then cost a walk of all of it (92 ms, the p99 of the search benchmark).
inline constexpr Sql kSearchCollectMatches{"contacts_search_collect_matches",
                                           "SELECT set_config('enable_indexscan', 'off', true)"};
inline constexpr Sql kSearchContacts{"contacts_search",
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c"
    " WHERE c.tenant_id = $1 AND c.state = 'ACTIVE' AND c.delete_time IS NULL"
    CRM_SEARCH_MATCHES
    " AND (c.create_time, c.id) > (" CRM_AT_MICROS("$8") ", $9::uuid)"
    " ORDER BY c.create_time, c.id LIMIT $10"};

inline constexpr Sql kSearchContactsRecent{"contacts_search_recent",
    "SELECT " CRM_CONTACT_COLUMNS " FROM (SELECT * FROM contacts w WHERE w.tenant_id = $1"
    "   AND (w.create_time, w.id) > (" CRM_AT_MICROS("$8") ", $9::uuid) ORDER BY w.create_time, w.id LIMIT $11) c"
    " WHERE c.state = 'ACTIVE' AND c.delete_time IS NULL"
    CRM_SEARCH_MATCHES
    " ORDER BY c.create_time, c.id LIMIT $10"};

// Duplicate candidates of a probe: same email ($2), same phone ($3), or a full name ($4) that shares trigrams with
// it; similarity() of the names is returned as the last column. $5 = id to exclude.
// The name lookup has a bounded cost whatever the tenant's size: it takes the probe's 8 rarest trigrams (document
// frequency counted up to 101 in the lookup table's index), reads at most 1000 postings of each, and keeps contacts
// sharing at least half of them. A name within trigram similarity 0.8 of the probe shares about 9 in 10 of its
// trigrams, so it shares at least half of any 8. Only when more than 1000 contacts share every rare trigram of a
// name (thousands of identical names) can a name-only match be missed; exact email and phone matches never are.
inline constexpr Sql kDuplicateCandidates{"contacts_duplicate_candidates",
    "WITH probe AS ("
    "  SELECT p.t, (SELECT count(*) FROM (SELECT 1 FROM contact_name_trigrams x"
    "                WHERE x.tenant_id = $1 AND x.trigram = p.t LIMIT 101) s) AS df"
    "  FROM unnest(CASE WHEN $4 <> '' THEN show_trgm($4) ELSE '{}'::text[] END) AS p(t)),"
    " rare AS (SELECT t FROM probe ORDER BY df, t LIMIT 8),"
    " name_hits AS ("
    "  SELECT h.contact_id AS id FROM rare r"
    "  CROSS JOIN LATERAL (SELECT x.contact_id FROM contact_name_trigrams x"
    "                      WHERE x.tenant_id = $1 AND x.trigram = r.t LIMIT 1000) h"
    "  GROUP BY h.contact_id HAVING count(*) >= ceil(0.5 * (SELECT count(*) FROM rare))"
    "  ORDER BY count(*) DESC LIMIT 200),"
    " candidates AS ("
    "  (SELECT m.id FROM contacts m WHERE $2 <> '' AND m.tenant_id = $1 AND m.state = 'ACTIVE'"
    "     AND m.delete_time IS NULL AND m.email = $2 LIMIT 200)"
    "  UNION (SELECT m.id FROM contacts m WHERE $3 <> '' AND m.tenant_id = $1 AND m.state = 'ACTIVE'"
    "     AND m.delete_time IS NULL AND m.phone = $3 LIMIT 200)"
    "  UNION SELECT id FROM name_hits) "
    "SELECT " CRM_CONTACT_COLUMNS ", similarity(c.full_name_normalized, $4)::float8 FROM contacts c"
    " WHERE c.tenant_id = $1 AND c.state = 'ACTIVE' AND c.delete_time IS NULL"
    " AND c.id IN (SELECT id FROM candidates) AND c.id IS DISTINCT FROM $5::uuid"};

// Used by custom field definition deletion: removes the key from every contact that has it.
inline constexpr Sql kStripContactField{"contacts_strip_custom_field",
    "UPDATE contacts AS c SET custom_fields = c.custom_fields - $2, version = c.version + 1, update_time = now() "
    "WHERE c.tenant_id = $1 AND c.custom_fields ? $2"};

// --- companies ---------------------------------------------------------------------------------------------------
// The writable columns of a company, set from $3..$8.
#define CRM_COMPANY_VALUE_COLUMNS "name, domain, industry, owner_id, tags, custom_fields"
#define CRM_COMPANY_VALUES "$3, $4, $5, $6, ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8::jsonb"

inline constexpr Sql kInsertCompany{"companies_insert",
    "INSERT INTO companies AS co (tenant_id, id, " CRM_COMPANY_VALUE_COLUMNS ") VALUES ($1, $2::uuid, "
    CRM_COMPANY_VALUES ") RETURNING " CRM_COMPANY_COLUMNS};

inline constexpr Sql kWriteCompany{"companies_write",
    "UPDATE companies AS co SET (" CRM_COMPANY_VALUE_COLUMNS ") = (" CRM_COMPANY_VALUES "), "
    "version = co.version + 1, update_time = now() "
    "WHERE co.tenant_id = $1 AND co.id = $2::uuid AND co.version = $9 RETURNING " CRM_COMPANY_COLUMNS};

inline constexpr Sql kGetCompany{"companies_get",
    "SELECT " CRM_COMPANY_COLUMNS " FROM companies co WHERE co.tenant_id = $1 AND co.id = $2::uuid"};

// CreateCompany's duplicate check: the active company with a normalized domain (index companies_tenant_domain) or,
// for a company without domain, with a name ignoring case (index companies_tenant_name_key).
inline constexpr Sql kActiveCompanyByDomain{"companies_active_by_domain",
    "SELECT co.id::text FROM companies co WHERE co.tenant_id = $1 AND co.delete_time IS NULL AND co.domain <> '' "
    "AND co.domain = $2 ORDER BY co.create_time, co.id LIMIT 2"};
inline constexpr Sql kActiveCompanyByName{"companies_active_by_name",
    "SELECT co.id::text FROM companies co WHERE co.tenant_id = $1 AND co.delete_time IS NULL "
    "AND co.name_key = lower($2) ORDER BY co.create_time, co.id LIMIT 2"};
// Serializes creates of one company domain or name within a tenant; $1 = tenant, $2 = domain or name (case-folded).
inline constexpr Sql kLockCompanyKey{"companies_lock_key",
    "SELECT pg_advisory_xact_lock(hashtextextended('contacts.company:' || $1 || ':' || lower($2), 0))"};

inline constexpr Sql kSoftDeleteCompany{"companies_soft_delete",
    "UPDATE companies AS co SET delete_time = now(), update_time = now(), version = co.version + 1 "
    "WHERE co.tenant_id = $1 AND co.id = $2::uuid AND co.version = $3 RETURNING " CRM_COMPANY_COLUMNS};

// $2/$3 cursor, $4 show_deleted, $5 owner or '', $6 tag or '', $7 limit; $8 updated_after micros (updated variant).
// Tags are tested with @> on the row: companies are few per tenant, and under row-level security a GIN index could
// not serve @> anyway.
#define CRM_LIST_COMPANIES(sort_col, extra_where)                                                                  \
    "SELECT " CRM_COMPANY_COLUMNS " FROM companies co"                                                             \
    " WHERE co.tenant_id = $1 AND ($4 OR co.delete_time IS NULL) AND ($5 = '' OR co.owner_id = $5)"               \
    " AND ($6 = '' OR co.tags @> ARRAY[$6::text])" extra_where                                                      \
    " AND (co." sort_col ", co.id) > (" CRM_AT_MICROS("$2") ", $3::uuid)"                                           \
    " ORDER BY co." sort_col ", co.id LIMIT $7"

inline constexpr Sql kListCompanies{"companies_list", CRM_LIST_COMPANIES("create_time", "")};
inline constexpr Sql kListCompaniesUpdated{"companies_list_updated",
    CRM_LIST_COMPANIES("update_time", " AND co.update_time > " CRM_AT_MICROS("$8"))};

inline constexpr Sql kStripCompanyField{"companies_strip_custom_field",
    "UPDATE companies AS co SET custom_fields = co.custom_fields - $2, version = co.version + 1, "
    "update_time = now() WHERE co.tenant_id = $1 AND co.custom_fields ? $2"};

// --- custom field definitions ------------------------------------------------------------------------------------
inline constexpr Sql kDefinitionsOf{"custom_field_definitions_of_entity",
    "SELECT " CRM_DEFINITION_COLUMNS " FROM custom_field_definitions d WHERE d.tenant_id = $1 AND d.entity = $2"};

inline constexpr Sql kInsertDefinition{"custom_field_definitions_insert",
    "INSERT INTO custom_field_definitions AS d (tenant_id, id, entity, key, label, type, required, allowed_values) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, ARRAY(SELECT jsonb_array_elements_text($8::jsonb))) "
    "ON CONFLICT (tenant_id, entity, key) DO NOTHING RETURNING " CRM_DEFINITION_COLUMNS};

inline constexpr Sql kGetDefinition{"custom_field_definitions_get",
    "SELECT " CRM_DEFINITION_COLUMNS " FROM custom_field_definitions d WHERE d.tenant_id = $1 AND d.id = $2::uuid"};

inline constexpr Sql kDeleteDefinition{"custom_field_definitions_delete",
    "DELETE FROM custom_field_definitions WHERE tenant_id = $1 AND id = $2::uuid"};

inline constexpr Sql kCountDefinitions{"custom_field_definitions_count",
    "SELECT count(*) FROM custom_field_definitions WHERE tenant_id = $1 AND entity = $2"};

// $2/$3 cursor, $4 entity or '', $5 limit.
inline constexpr Sql kListDefinitions{"custom_field_definitions_list",
    "SELECT " CRM_DEFINITION_COLUMNS " FROM custom_field_definitions d"
    " WHERE d.tenant_id = $1 AND ($4 = '' OR d.entity = $4)"
    " AND (d.create_time, d.id) > (" CRM_AT_MICROS("$2") ", $3::uuid) ORDER BY d.create_time, d.id LIMIT $5"};
// clang-format on

}  // namespace crm::contacts::storage::sql
