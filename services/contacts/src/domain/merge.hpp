#pragma once

#include <vector>

#include "domain/types.hpp"

// The merge rule of MergeContacts as a pure function.
namespace crm::contacts::domain {

// What a merge combines of one contact.
struct MergeInput {
    ContactFields fields;
    EmailConsent consent;

    friend bool operator==(const MergeInput&, const MergeInput&) = default;
};

// Returns the survivor after merging `losers` into it:
// - every string field the survivor has non-empty is kept; an empty one takes the first non-empty value among the
//   losers, in the order given;
// - tags: the survivor's, then each loser's tags not already present, in order (capped at limits::kMaxTags);
// - custom fields: the survivor's; a key only losers have takes the first loser's value (capped at
//   limits::kMaxCustomFields keys);
// - consent: the most recently changed one wins; at the same change time opt-out beats opt-in beats unknown; a full
//   tie keeps the survivor's.
MergeInput MergeContacts(const MergeInput& survivor, const std::vector<MergeInput>& losers);

// True when `candidate` should replace `current` under the consent rule above.
bool ConsentSupersedes(const EmailConsent& candidate, const EmailConsent& current);

}  // namespace crm::contacts::domain
