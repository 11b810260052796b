#pragma once

#include <string>
#include <vector>

// Duplicate scoring. The database finds candidate rows (same email, same phone, or a full name whose pg_trgm
// similarity passes kNameSimilarityFloor) and computes the trigram similarity; this code turns them into a score.
//
// The rule. Each signal that fires has a strength:
//   EMAIL_EXACT              same normalized email (both non-empty)                          1.0
//   PHONE_EXACT              same E.164 phone (both non-empty)                               0.9
//   NAME_AND_COMPANY_SIMILAR full-name similarity s >= 0.6 and the same non-empty company    0.6 + 0.625 * (s - 0.6)
//   NAME_SIMILAR             s >= 0.8, only when NAME_AND_COMPANY_SIMILAR does not fire     s - 0.4
// and the score is the noisy-OR of the strengths, 1 - Π(1 - strength): more evidence never lowers it, and it stays in
// [0, 1]. A pair is a possible duplicate when score >= kPossibleDuplicateThreshold (0.5): any exact email or phone,
// a similar name at the same company, or a near-identical name alone (s >= 0.9).
namespace crm::contacts::domain {

inline constexpr double kPossibleDuplicateThreshold = 0.5;
// Smallest name similarity that can contribute; the database pre-filters with it (pg_trgm.similarity_threshold).
inline constexpr double kNameSimilarityFloor = 0.6;
inline constexpr double kNameOnlySimilarity = 0.8;

inline constexpr double kEmailExactStrength = 1.0;
inline constexpr double kPhoneExactStrength = 0.9;

enum class DuplicateReason { kEmailExact, kPhoneExact, kNameAndCompanySimilar, kNameSimilar };

// Normalized matching fields of one contact: email as NormalizeEmail, phone as NormalizePhone,
// name as NormalizeFullName, company_id as stored.
struct DuplicateProbe {
    std::string email;
    std::string phone;
    std::string name;
    std::string company_id;
};

struct DuplicateScore {
    double score = 0.0;
    std::vector<DuplicateReason> reasons;  // strongest first

    // With a tolerance of 1e-9 so that a score computed to exactly the threshold counts despite rounding.
    bool IsPossibleDuplicate() const { return score >= kPossibleDuplicateThreshold - 1e-9; }
};

// name_similarity: pg_trgm similarity(candidate.name, existing.name) in [0, 1] (values outside are clamped);
// ignored when either name is empty.
DuplicateScore ScoreDuplicate(const DuplicateProbe& candidate, const DuplicateProbe& existing, double name_similarity);

}  // namespace crm::contacts::domain
