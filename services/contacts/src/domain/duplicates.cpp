#include "domain/duplicates.hpp"

#include <algorithm>
#include <utility>

namespace crm::contacts::domain {

DuplicateScore ScoreDuplicate(const DuplicateProbe& candidate, const DuplicateProbe& existing, double name_similarity) {
    std::vector<std::pair<double, DuplicateReason>> signals;
    if (!candidate.email.empty() && candidate.email == existing.email) {
        signals.emplace_back(kEmailExactStrength, DuplicateReason::kEmailExact);
    }
    if (!candidate.phone.empty() && candidate.phone == existing.phone) {
        signals.emplace_back(kPhoneExactStrength, DuplicateReason::kPhoneExact);
    }
    if (!candidate.name.empty() && !existing.name.empty()) {
        const double s = std::clamp(name_similarity, 0.0, 1.0);
        const bool same_company = !candidate.company_id.empty() && candidate.company_id == existing.company_id;
        if (same_company && s >= kNameSimilarityFloor) {
            const double strength = 0.6 + 0.625 * (s - kNameSimilarityFloor);  // 0.6 at s = 0.6 up to 0.85 at s = 1
            signals.emplace_back(strength, DuplicateReason::kNameAndCompanySimilar);
        } else if (s >= kNameOnlySimilarity) {
            const double strength = s - 0.4;  // 0.4 at s = 0.8 up to 0.6 at s = 1
            signals.emplace_back(strength, DuplicateReason::kNameSimilar);
        }
    }
    std::stable_sort(signals.begin(), signals.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    DuplicateScore result;
    double miss = 1.0;
    for (const auto& [strength, reason] : signals) {
        miss *= 1.0 - strength;
        result.reasons.push_back(reason);
    }
    result.score = std::clamp(1.0 - miss, 0.0, 1.0);
    return result;
}

}  // namespace crm::contacts::domain
