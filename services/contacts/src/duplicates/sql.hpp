#pragma once
// Named SQL of the duplicates area: candidate matches and the merge. The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Contacts are selected as CRM_CONTACT_COLUMNS and read with people::ReadContact.
#include "crm/common/db.hpp"
#include "people/people.hpp"

namespace crm::contacts::duplicates::sql {

using common::Sql;

// clang-format off
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

// Locks survivor and losers in id order (no deadlock between concurrent merges). $2 = uuid[] literal.
inline constexpr Sql kLockContacts{"contacts_lock_many",
    "SELECT " CRM_CONTACT_COLUMNS " FROM contacts c WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) "
    "ORDER BY c.id FOR UPDATE"};

// Losers ($2, uuid[] literal) become MERGED into the survivor ($3), read-only and soft-deleted.
inline constexpr Sql kMarkMerged{"contacts_mark_merged",
    "UPDATE contacts AS c SET state = 'MERGED', merged_into_id = $3::uuid, "
    "delete_time = coalesce(c.delete_time, now()), update_time = now(), version = c.version + 1 "
    "WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[])"};
// clang-format on

}  // namespace crm::contacts::duplicates::sql
