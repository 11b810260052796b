#pragma once
// duplicates: likely duplicates of a stored contact or of a candidate (scored by domain/duplicates.hpp), and the merge
// of 1 to 10 losers into a survivor (rule: domain/merge.hpp). Application code over crm.contacts.v1 messages.
#include <string>
#include <utility>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/contacts/v1/contacts.pb.h"
#include "domain/duplicates.hpp"
#include "domain/merge.hpp"

namespace crm::common {
class Outbox;
}

namespace crm::contacts::duplicates {

namespace v1 = crm::contacts::v1;

// The matching values of a contact's (normalized) fields.
domain::DuplicateProbe ProbeOf(const domain::ContactFields& fields);

// A scored candidate as the API returns it.
v1::DuplicateMatch MatchOf(const v1::Contact& contact, const domain::DuplicateScore& score);

// What a merge combines of a contact, and the merged consent back as the API spells it.
domain::MergeInput MergeInputOf(const v1::Contact& contact);
v1::EmailConsent ConsentOf(const domain::EmailConsent& consent);

// A candidate read by the database's duplicate lookup (contacts_duplicate_candidates, migration 0004): the contact
// and the pg_trgm similarity of its full name to the probe's.
using Candidate = std::pair<v1::Contact, double>;

// The candidates that score as possible duplicates of `probe`, best first (then oldest first), at most `limit`.
std::vector<v1::DuplicateMatch> Rank(const domain::DuplicateProbe& probe, const std::vector<Candidate>& candidates,
                                     int limit);

// Active, non-deleted contacts of the tenant that look like `probe` (score >= threshold), best first, at most `limit`;
// `exclude_id` (or "") is left out. Runs in the caller's transaction.
std::vector<v1::DuplicateMatch> FindIn(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                       const domain::DuplicateProbe& probe, const std::string& exclude_id, int limit);

std::vector<v1::DuplicateMatch> FindDuplicates(common::Db& db, const common::RequestContext& rc,
                                               const domain::DuplicateProbe& probe, int limit);
// Of a stored contact, which is excluded from the result. NOT_FOUND for an unknown id.
std::vector<v1::DuplicateMatch> FindDuplicatesOf(common::Db& db, const common::RequestContext& rc,
                                                 const std::string& contact_id, int limit);

// Ids checked (UUIDs, distinct, losers not the survivor). Idempotent by request_id; survivor_etag "" = no check.
v1::Contact MergeContacts(common::Db& db, common::Outbox& outbox, const common::RequestContext& rc,
                          const std::string& survivor_id, const std::vector<std::string>& loser_ids,
                          const std::string& request_id, const std::string& survivor_etag);

}  // namespace crm::contacts::duplicates
