#include "domain/merge.hpp"

#include <algorithm>
#include <string>
#include <tuple>

namespace crm::contacts::domain {
namespace {

int ConsentRank(ConsentStatus status) {
    switch (status) {
        case ConsentStatus::kOptedOut:
            return 2;
        case ConsentStatus::kOptedIn:
            return 1;
        case ConsentStatus::kUnknown:
            break;
    }
    return 0;
}

void FillIfEmpty(std::string& target, const std::string& source) {
    if (target.empty()) target = source;
}

}  // namespace

bool ConsentSupersedes(const EmailConsent& candidate, const EmailConsent& current) {
    const bool candidate_known = candidate.status != ConsentStatus::kUnknown;
    const bool current_known = current.status != ConsentStatus::kUnknown;
    return std::tuple(candidate_known, candidate.change_time, ConsentRank(candidate.status)) >
           std::tuple(current_known, current.change_time, ConsentRank(current.status));
}

MergeInput MergeContacts(const MergeInput& survivor, const std::vector<MergeInput>& losers) {
    MergeInput merged = survivor;
    ContactFields& out = merged.fields;
    for (const MergeInput& loser : losers) {
        const ContactFields& in = loser.fields;
        FillIfEmpty(out.given_name, in.given_name);
        FillIfEmpty(out.family_name, in.family_name);
        FillIfEmpty(out.email, in.email);
        FillIfEmpty(out.phone, in.phone);
        FillIfEmpty(out.job_title, in.job_title);
        FillIfEmpty(out.company_id, in.company_id);
        FillIfEmpty(out.owner_id, in.owner_id);
        for (const std::string& tag : in.tags) {
            if (out.tags.size() >= limits::kMaxTags) break;
            if (std::find(out.tags.begin(), out.tags.end(), tag) == out.tags.end()) out.tags.push_back(tag);
        }
        for (const auto& [key, value] : in.custom_fields) {
            if (out.custom_fields.size() >= limits::kMaxCustomFields) break;
            out.custom_fields.emplace(key, value);  // keeps an existing key
        }
        if (ConsentSupersedes(loser.consent, merged.consent)) merged.consent = loser.consent;
    }
    return merged;
}

}  // namespace crm::contacts::domain
