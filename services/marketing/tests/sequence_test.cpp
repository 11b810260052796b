// Sequences' pure rules: the next weekday instant in a time zone (across DST changes), deterministic A/B assignment,
// the chi-square test and the regularised upper incomplete gamma function.
#include "domain/sequence.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>

using namespace crm::marketing::domain;
using crm::common::TimeZone;

namespace {
constexpr unsigned kSunday = 1u << 0, kMonday = 1u << 1, kWednesday = 1u << 3, kFriday = 1u << 5;
// Unix seconds of a UTC wall time.
std::int64_t Utc(int y, unsigned m, unsigned d, int hh, int mm) {
    return crm::common::DaysFromCivil({y, m, d}) * 86400 + hh * 3600 + mm * 60;
}
}  // namespace

TEST_CASE("sequence wait: the next weekday and time in the person's zone, across the spring DST change") {
    const auto berlin = TimeZone::Load("Europe/Berlin");
    // Friday 2026-03-27 13:00 CET; "Monday 09:00": Monday 2026-03-30 is CEST (UTC+2), so 07:00 UTC, not 08:00.
    CHECK(NextWeekdayTime(Utc(2026, 3, 27, 12, 0), *berlin, kMonday, 9 * 3600) == Utc(2026, 3, 30, 7, 0));
    // The same rule a week earlier is still in winter time: 08:00 UTC.
    CHECK(NextWeekdayTime(Utc(2026, 3, 20, 12, 0), *berlin, kMonday, 9 * 3600) == Utc(2026, 3, 23, 8, 0));
    // "Sunday 02:30" on the night clocks jump from 02:00 to 03:00: moved forward by the gap, 03:30 CEST = 01:30 UTC.
    CHECK(NextWeekdayTime(Utc(2026, 3, 28, 12, 0), *berlin, kSunday, 2 * 3600 + 1800) == Utc(2026, 3, 29, 1, 30));
}

TEST_CASE("sequence wait: the autumn DST change, same-day instants and several weekdays") {
    const auto berlin = TimeZone::Load("Europe/Berlin");
    // 02:30 happens twice on 2026-10-25: the earlier instant (CEST, 00:30 UTC) is taken.
    CHECK(NextWeekdayTime(Utc(2026, 10, 24, 12, 0), *berlin, kSunday, 2 * 3600 + 1800) == Utc(2026, 10, 25, 0, 30));
    // Reached exactly then: strictly after, so the next Sunday, in winter time (CET, 01:30 UTC).
    CHECK(NextWeekdayTime(Utc(2026, 10, 25, 0, 30), *berlin, kSunday, 2 * 3600 + 1800) == Utc(2026, 11, 1, 1, 30));
    // Monday 08:00 CET reached; "Monday, Wednesday 09:00": the same day at 09:00 CET.
    CHECK(NextWeekdayTime(Utc(2026, 11, 2, 7, 0), *berlin, kMonday | kWednesday, 9 * 3600) == Utc(2026, 11, 2, 8, 0));
    // Monday 10:00 CET reached: Wednesday.
    CHECK(NextWeekdayTime(Utc(2026, 11, 2, 9, 0), *berlin, kMonday | kWednesday, 9 * 3600) == Utc(2026, 11, 4, 8, 0));
    // A zone west of UTC where the local date is still the day before: Friday 23:00 in New York (EST) is Saturday
    // 04:00 UTC; "Friday 22:00" next falls a week later.
    const auto ny = TimeZone::Load("America/New_York");
    CHECK(NextWeekdayTime(Utc(2026, 11, 7, 4, 0), *ny, kFriday, 22 * 3600) == Utc(2026, 11, 14, 3, 0));
    CHECK_THROWS(NextWeekdayTime(0, *ny, 0, 0));
    CHECK_THROWS(NextWeekdayTime(0, *ny, kFriday, 86400));
}

TEST_CASE("sequence split: assignment is deterministic and follows the weights") {
    const std::vector<int> weights = {1, 3};
    std::map<std::size_t, int> counts;
    for (int i = 0; i < 20000; ++i) {
        const std::string id = "enrolment-" + std::to_string(i);
        const std::size_t v = AssignVariant(id, "split", weights);
        CHECK(v == AssignVariant(id, "split", weights));  // the same enrolment always gets the same variant
        ++counts[v];
    }
    CHECK(counts[0] > 4500);  // expected 5000 (sd ~ 61)
    CHECK(counts[0] < 5500);
    CHECK(counts[1] == 20000 - counts[0]);
    CHECK(AssignVariant("x", "a", {5}) == 0);
    CHECK_THROWS(AssignVariant("x", "a", {1, 0}));
    CHECK_THROWS(AssignVariant("x", "a", {}));
}

TEST_CASE("sequence split: the chi-square test against hand-computed values") {
    // 2 x 2: A 20 of 100 clicked, B 10 of 100. Expected 15 / 85 per variant:
    // chi2 = 2 * (25/15 + 25/85) = 3.92157, df 1, p = erfc(sqrt(chi2 / 2)) = 0.04767.
    const auto two = ChiSquareTest({{100, 20}, {100, 10}});
    CHECK(two.degrees_of_freedom == 1);
    CHECK(two.chi_square == Approx(3.921569).margin(1e-6));
    CHECK(two.p_value == Approx(0.0477).margin(5e-5));
    // 2 x 3: 30, 20, 10 of 200 each. Expected 20 / 180: chi2 = 5 + 0 + 5 + 100/180 * 2 = 11.11111, df 2,
    // p = exp(-chi2 / 2) = 0.003866.
    const auto three = ChiSquareTest({{200, 30}, {200, 20}, {200, 10}});
    CHECK(three.degrees_of_freedom == 2);
    CHECK(three.chi_square == Approx(11.111111).margin(1e-6));
    CHECK(three.p_value == Approx(0.0039).margin(5e-5));
    // Edge cases: a zero cell (nobody in B clicked) still tests; a variant with nothing sent is left out; one variant,
    // nobody clicked, everybody clicked: no test.
    const auto zero = ChiSquareTest({{50, 5}, {50, 0}});
    CHECK(zero.degrees_of_freedom == 1);
    CHECK(zero.chi_square == Approx(5.263158).margin(1e-6));  // E = 2.5 / 47.5: 2 * (6.25/2.5 + 6.25/47.5)
    CHECK(zero.p_value == Approx(0.0218).margin(5e-5));
    const auto unsent = ChiSquareTest({{100, 20}, {0, 0}, {100, 10}});
    CHECK(unsent.degrees_of_freedom == 1);
    CHECK(unsent.chi_square == Approx(two.chi_square));
    CHECK(ChiSquareTest({{100, 20}}).degrees_of_freedom == 0);
    CHECK(ChiSquareTest({{100, 20}}).p_value == 1.0);
    CHECK(ChiSquareTest({{100, 0}, {80, 0}}).p_value == 1.0);
    CHECK(ChiSquareTest({{100, 100}, {80, 80}}).chi_square == 0.0);
    CHECK(ChiSquareTest({}).p_value == 1.0);
    CHECK_THROWS(ChiSquareTest({{10, 11}, {10, 1}}));
}

TEST_CASE("sequence split: Q(a, x) against published chi-square critical values") {
    // Upper 5 % and 1 % points of the chi-square distribution (any statistics table): Q(df/2, x/2).
    CHECK(RegularizedUpperGamma(0.5, 3.841459 / 2) == Approx(0.0500).margin(5e-5));
    CHECK(RegularizedUpperGamma(0.5, 6.634897 / 2) == Approx(0.0100).margin(5e-5));
    CHECK(RegularizedUpperGamma(1.0, 5.991465 / 2) == Approx(0.0500).margin(5e-5));
    CHECK(RegularizedUpperGamma(1.5, 7.814728 / 2) == Approx(0.0500).margin(5e-5));
    CHECK(RegularizedUpperGamma(2.0, 13.276704 / 2) == Approx(0.0100).margin(5e-5));
    CHECK(RegularizedUpperGamma(4.5, 16.918978 / 2) == Approx(0.0500).margin(5e-5));
    CHECK(RegularizedUpperGamma(10.0, 31.410433 / 2) == Approx(0.0500).margin(5e-5));
    // Both branches (series below a + 1, continued fraction above) and the ends.
    CHECK(RegularizedUpperGamma(3.0, 1.0) == Approx(0.9196986).margin(1e-7));   // e^-1 (1 + 1 + 1/2)
    CHECK(RegularizedUpperGamma(3.0, 10.0) == Approx(0.0027694).margin(1e-7));  // e^-10 (1 + 10 + 50)
    CHECK(RegularizedUpperGamma(2.0, 0.0) == 1.0);
    CHECK(RegularizedUpperGamma(0.5, 1e6) == 0.0);
    CHECK_THROWS(RegularizedUpperGamma(0.0, 1.0));
    CHECK_THROWS(RegularizedUpperGamma(1.0, -1.0));
}
