#pragma once
// Pure rules of sequences (journeys): when a "wait until a weekday and time" step falls due in a person's time zone,
// which A/B variant an enrolment gets, and the chi-square test of the difference in click rate between variants.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/timezone.hpp"

namespace crm::marketing::domain {

// The first instant strictly after `after_utc_seconds` whose wall clock in `zone` is on one of `weekdays` (bits
// 0 = Sunday .. 6 = Saturday; at least one set) at `seconds_of_day`. A wall time skipped by a DST change is moved
// forward by the gap (TimeZone::ToUtc); one that occurs twice is its earlier instant.
std::int64_t NextWeekdayTime(std::int64_t after_utc_seconds, const common::TimeZone& zone, unsigned weekdays,
                             std::int32_t seconds_of_day);

// The index of the variant of an enrolment at a split step: a deterministic function of (enrolment, step) with
// probability weight[i] / sum(weights). Weights must be positive.
std::size_t AssignVariant(std::string_view enrolment_id, std::string_view step_id, const std::vector<int>& weights);

// Pearson's chi-square test of independence on a 2 x k table: for each variant the people sent and the people who
// clicked (clicked <= sent). Variants with nothing sent are left out; df = (variants left) - 1. With df = 0, or when
// nobody or everybody clicked, there is no difference to test: chi_square 0 and p_value 1.
struct ChiSquareResult {
    double chi_square = 0;
    int degrees_of_freedom = 0;
    double p_value = 1;
};
struct SplitCounts {
    std::int64_t sent = 0;
    std::int64_t clicked = 0;
};
ChiSquareResult ChiSquareTest(const std::vector<SplitCounts>& variants);

// The regularised upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a) for a > 0, x >= 0 (series for
// x < a + 1, continued fraction otherwise; relative error below 1e-12).
double RegularizedUpperGamma(double a, double x);

}  // namespace crm::marketing::domain
