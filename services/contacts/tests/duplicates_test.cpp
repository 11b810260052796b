#include "domain/duplicates.hpp"

#include <catch2/catch.hpp>

using namespace crm::contacts::domain;
using Reasons = std::vector<DuplicateReason>;

namespace {

const std::string kAcme = "7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01";
const std::string kGlobex = "0f4d2b8e-2b7e-4d27-9a0c-51b6bd9a7e11";

DuplicateProbe Probe(std::string email, std::string phone, std::string name, std::string company = {}) {
    return {.email = std::move(email),
            .phone = std::move(phone),
            .name = std::move(name),
            .company_id = std::move(company)};
}

}  // namespace

TEST_CASE("duplicate scoring table", "[duplicates]") {
    struct Row {
        const char* what;
        DuplicateProbe candidate;
        DuplicateProbe existing;
        double similarity;
        double score;
        Reasons reasons;
        bool possible;
    };
    const std::vector<Row> rows = {
        {"same email only",
         Probe("a@x.com", "", "ann lee"),
         Probe("a@x.com", "", "bob roe"),
         0.0,
         1.0,
         {DuplicateReason::kEmailExact},
         true},
        {"same phone only",
         Probe("", "+14155552671", ""),
         Probe("b@x.com", "+14155552671", "bob roe"),
         0.0,
         0.9,
         {DuplicateReason::kPhoneExact},
         true},
        {"email and phone",
         Probe("a@x.com", "+14155552671", ""),
         Probe("a@x.com", "+14155552671", ""),
         0.0,
         1.0,
         {DuplicateReason::kEmailExact, DuplicateReason::kPhoneExact},
         true},
        {"similar name, same company",
         Probe("", "", "jon smith", kAcme),
         Probe("", "", "john smith", kAcme),
         0.6,
         0.6,
         {DuplicateReason::kNameAndCompanySimilar},
         true},
        {"identical name, same company",
         Probe("", "", "john smith", kAcme),
         Probe("", "", "john smith", kAcme),
         1.0,
         0.85,
         {DuplicateReason::kNameAndCompanySimilar},
         true},
        {"similar name, other company",
         Probe("", "", "jon smith", kAcme),
         Probe("", "", "john smith", kGlobex),
         0.6,
         0.0,
         {},
         false},
        {"very similar name, other company",
         Probe("", "", "jon smith", kAcme),
         Probe("", "", "john smith", kGlobex),
         0.8,
         0.4,
         {DuplicateReason::kNameSimilar},
         false},
        {"near-identical name alone",
         Probe("", "", "john smith"),
         Probe("", "", "john smith"),
         0.9,
         0.5,
         {DuplicateReason::kNameSimilar},
         true},
        {"identical name alone",
         Probe("", "", "john smith"),
         Probe("", "", "john smith"),
         1.0,
         0.6,
         {DuplicateReason::kNameSimilar},
         true},
        {"name below the floor",
         Probe("", "", "john smith", kAcme),
         Probe("", "", "jane doe", kAcme),
         0.59,
         0.0,
         {},
         false},
        {"phone and similar name at same company",
         Probe("", "+442079460958", "jon smith", kAcme),
         Probe("", "+442079460958", "john smith", kAcme),
         0.6,
         1.0 - 0.1 * 0.4,
         {DuplicateReason::kPhoneExact, DuplicateReason::kNameAndCompanySimilar},
         true},
        {"nothing in common",
         Probe("a@x.com", "+14155552671", "ann lee", kAcme),
         Probe("b@x.com", "+14155552672", "bob roe", kGlobex),
         0.1,
         0.0,
         {},
         false},
        {"empty values never match", Probe("", "", "", ""), Probe("", "", "", ""), 1.0, 0.0, {}, false},
        {"empty name ignores a similarity",
         Probe("", "", "", kAcme),
         Probe("", "", "john smith", kAcme),
         1.0,
         0.0,
         {},
         false},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        const DuplicateScore result = ScoreDuplicate(row.candidate, row.existing, row.similarity);
        CHECK(result.score == Approx(row.score).margin(1e-12));
        CHECK(result.reasons == row.reasons);
        CHECK(result.IsPossibleDuplicate() == row.possible);
    }
}

TEST_CASE("scores stay in [0, 1] and grow with similarity", "[duplicates]") {
    const auto candidate = Probe("a@x.com", "+14155552671", "john smith", kAcme);
    const auto existing = Probe("a@x.com", "+14155552671", "john smith", kAcme);
    double previous = -1.0;
    for (double s = -0.5; s <= 1.5; s += 0.05) {
        const double score = ScoreDuplicate(candidate, existing, s).score;
        CHECK(score >= 0.0);
        CHECK(score <= 1.0);
        CHECK(score >= previous);
        previous = score;
    }
    const auto name_only = Probe("", "", "john smith", kAcme);
    previous = -1.0;
    for (double s = 0.0; s <= 1.0; s += 0.01) {
        const double score = ScoreDuplicate(name_only, name_only, s).score;
        CHECK(score >= previous);
        previous = score;
    }
}

TEST_CASE("more evidence never lowers the score", "[duplicates]") {
    const auto existing = Probe("a@x.com", "+14155552671", "john smith", kAcme);
    const double phone_only = ScoreDuplicate(Probe("", "+14155552671", ""), existing, 0.0).score;
    const double phone_and_name = ScoreDuplicate(Probe("", "+14155552671", "john smith"), existing, 0.95).score;
    const double all = ScoreDuplicate(Probe("a@x.com", "+14155552671", "john smith", kAcme), existing, 1.0).score;
    CHECK(phone_and_name > phone_only);
    CHECK(all >= phone_and_name);
}
