#pragma once
// Named SQL of the people area (contacts: create, read, write, list, search, soft delete). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Prefix search uses ~>=~ / ~<~ ranges instead of LIKE: under row-level security only leakproof
// operators can be index conditions (see migrations/0001_init.sql).
#include "crm/common/db.hpp"
#include "people/people.hpp"

namespace crm::contacts::people::sql {

using common::Sql;

// clang-format off
// The writable columns of a contact, set from $3..$17, $19 and $20 by kWriteContact (email, phone and job title sealed,
// the blind indexes of e-mail and phone last).
#define CRM_CONTACT_VALUES                                                                                         \
    "$3, $4, $5, $6, $7, $8::uuid, $9, ARRAY(SELECT jsonb_array_elements_text($10::jsonb)), $11::jsonb, "         \
    "$12, $13, $14, $15, " CRM_AT_MICROS("$16") ", $17, $19, $20"
#define CRM_CONTACT_VALUE_COLUMNS                                                                                  \
    "given_name, family_name, email, phone, job_title, company_id, owner_id, tags, custom_fields, "               \
    "given_name_normalized, family_name_normalized, full_name_normalized, consent_status, consent_change_time, "  \
    "consent_source, email_index, phone_index"

// CreateContact in one round trip: the function contacts_create (migrations 0004, 0050) takes the lock of the email
// ($15, the lock key, NULL = no duplicate-email check), looks for an active contact with that email's blind index
// ($17), compares the custom field definitions' version with the one the service validated with ($16), reads the
// duplicate candidates (by the indexes $17, $18 and the name) and inserts ($1 tenant, $2 id, $3..$14 the values, e-mail,
// phone and job title sealed). Rows: kind ('existing', 'stale', 'candidate', 'contact'), the name
// similarity of a candidate (the current definitions version of 'stale'), then CRM_CONTACT_COLUMNS.
inline constexpr Sql kCreateContact{"contacts_create",
    "SELECT r.kind, r.name_similarity, " CRM_CONTACT_COLUMNS
    " FROM contacts_create($1, $2::uuid, $3, $4, $5, $6, $7, $8::uuid, $9,"
    " ARRAY(SELECT jsonb_array_elements_text($10::jsonb)), $11::jsonb, $12, $13, $14, $15, $16::bigint, $17, $18) r"
    " CROSS JOIN LATERAL (SELECT (r.contact).*) c"};

// Optimistic write of every writable column: 0 rows when the version moved on ($18 = expected version).
inline constexpr Sql kWriteContact{"contacts_write",
    "UPDATE contacts AS c SET (" CRM_CONTACT_VALUE_COLUMNS ") = (" CRM_CONTACT_VALUES "), "
    "version = c.version + 1, update_time = now() "
    "WHERE c.tenant_id = $1 AND c.id = $2::uuid AND c.version = $18 RETURNING " CRM_CONTACT_COLUMNS};

inline constexpr Sql kGetContact{"contacts_get",
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c WHERE c.tenant_id = $1 AND c.id = $2::uuid"};

inline constexpr Sql kSoftDeleteContact{"contacts_soft_delete",
    "UPDATE contacts AS c SET delete_time = now(), update_time = now(), version = c.version + 1 "
    "WHERE c.tenant_id = $1 AND c.id = $2::uuid AND c.version = $3 RETURNING " CRM_CONTACT_COLUMNS};

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

// Search: names by prefix, e-mail and phone by equality of their blind indexes (they are stored sealed, migration
// 0050). $2/$3: range of the leading term over the names; $4: blind index of the leading term as a whole e-mail, $5:
// of it (or of its phone form) as a whole phone number; $6/$7/terms_ix: text[] literals of the ranges and e-mail
// indexes of further terms, each of which must match a name by prefix or the e-mail exactly; cursor $8/$9; limit $10.
#define CRM_SEARCH_MATCHES(terms_ix)                                                                                \
    " AND ((c.given_name_normalized ~>=~ $2 AND c.given_name_normalized ~<~ $3)"                                   \
    "   OR (c.family_name_normalized ~>=~ $2 AND c.family_name_normalized ~<~ $3)"                                 \
    "   OR c.email_index = $4 OR c.phone_index = $5)"                                                              \
    " AND NOT EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[], " terms_ix "::text[]) AS term(lo, hi, ix)"   \
    "   WHERE NOT ((c.given_name_normalized ~>=~ term.lo AND c.given_name_normalized ~<~ term.hi)"                 \
    "     OR (c.family_name_normalized ~>=~ term.lo AND c.family_name_normalized ~<~ term.hi)"                     \
    "     OR c.email_index = term.ix))"

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
    CRM_SEARCH_MATCHES("$11")
    " AND (c.create_time, c.id) > (" CRM_AT_MICROS("$8") ", $9::uuid)"
    " ORDER BY c.create_time, c.id LIMIT $10"};

inline constexpr Sql kSearchContactsRecent{"contacts_search_recent",
    "SELECT " CRM_CONTACT_COLUMNS " FROM (SELECT * FROM contacts w WHERE w.tenant_id = $1"
    "   AND (w.create_time, w.id) > (" CRM_AT_MICROS("$8") ", $9::uuid) ORDER BY w.create_time, w.id LIMIT $11) c"
    " WHERE c.state = 'ACTIVE' AND c.delete_time IS NULL"
    CRM_SEARCH_MATCHES("$12")
    " ORDER BY c.create_time, c.id LIMIT $10"};

// Duplicate candidates of a probe: same email ($2), same phone ($3), or a full name ($4) that shares trigrams with
// it; similarity() of the names is returned as the last column. $5 = id to exclude.
// The name lookup has a bounded cost whatever the tenant's size: it takes the probe's 8 rarest trigrams (document
// frequency counted up to 101 in the lookup table's index), reads at most 1000 postings of each, and keeps contacts
// sharing at least half of them. A name within trigram similarity 0.8 of the probe shares about 9 in 10 of its
// trigrams, so it shares at least half of any 8. Only when more than 1000 contacts share every rare trigram of a
// clang-format on

}  // namespace crm::contacts::people::sql
