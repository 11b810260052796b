#pragma once
// Named SQL of the duplicates area: candidate matches and the merge. The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Contacts are selected as CRM_CONTACT_COLUMNS and read with people::ReadContact.
#include "crm/common/db.hpp"
#include "people/people.hpp"

namespace crm::contacts::duplicates::sql {

using common::Sql;

// clang-format off
// Duplicate candidates of a probe: same email (its blind index $2), same phone (its blind index $3), or a full name ($4) sharing a blocking key with it
// (at the same company $5 too), similarity() of the names as the last column; $6 = id to leave out. The lookup is the
// function contacts_duplicate_candidates (migration 0004, which explains the keys and why its cost is bounded
// whatever the tenant's size); plpgsql keeps its plans per session.
inline constexpr Sql kDuplicateCandidates{"contacts_duplicate_candidates",
    "SELECT " CRM_CONTACT_COLUMNS ", d.name_similarity"
    " FROM contacts_duplicate_candidates($1, $2, $3, $4, $5::uuid, $6::uuid) d"
    " CROSS JOIN LATERAL (SELECT (d.contact).*) c"};

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
