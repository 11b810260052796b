// Pure rules of sequences (see sequence.hpp).
#include "domain/sequence.hpp"

#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace crm::marketing::domain {
namespace {

constexpr std::int64_t kDay = 86400;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::uint64_t Fnv1a(std::string_view a, std::string_view b) {
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ULL;
        }
    };
    mix(a);
    mix(std::string_view("\x1f", 1));
    mix(b);
    // Final avalanche (splitmix64's): FNV's low bits alone are poorly spread for similar inputs.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

// P(a, x) by its series, for x < a + 1.
double LowerSeries(double a, double x) {
    double term = 1.0 / a;
    double sum = term;
    for (int n = 1; n < 10000; ++n) {
        term *= x / (a + n);
        sum += term;
        if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
    }
    return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1.
double UpperFraction(double a, double x) {
    constexpr double kTiny = 1e-300;
    double b = x + 1.0 - a;
    double c = 1.0 / kTiny;
    double d = 1.0 / b;
    double h = d;
    for (int i = 1; i < 10000; ++i) {
        const double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (std::fabs(d) < kTiny) d = kTiny;
        c = b + an / c;
        if (std::fabs(c) < kTiny) c = kTiny;
        d = 1.0 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1.0) < 1e-15) break;
    }
    return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

std::int64_t NextWeekdayTime(std::int64_t after_utc_seconds, const common::TimeZone& zone, unsigned weekdays,
                             std::int32_t seconds_of_day) {
    if ((weekdays & 0x7f) == 0) throw std::invalid_argument("no weekday");
    if (seconds_of_day < 0 || seconds_of_day >= kDay) throw std::invalid_argument("time of day out of range");
    const std::int64_t today = FloorDiv(zone.ToLocal(after_utc_seconds), kDay);
    // Yesterday's date too: near a DST change the local date of `after` and of the candidate may differ by a day.
    for (std::int64_t d = today - 1; d <= today + 8; ++d) {
        const common::CivilDate date = common::CivilFromDays(d);
        if ((weekdays & (1u << common::Weekday(date))) == 0) continue;
        const std::int64_t at = zone.ToUtc(date, seconds_of_day);
        if (at > after_utc_seconds) return at;
    }
    throw std::logic_error("no weekday instant within eight days");
}

std::size_t AssignVariant(std::string_view enrolment_id, std::string_view step_id, const std::vector<int>& weights) {
    std::uint64_t total = 0;
    for (int w : weights) {
        if (w <= 0) throw std::invalid_argument("weights must be positive");
        total += static_cast<std::uint64_t>(w);
    }
    if (total == 0) throw std::invalid_argument("no variants");
    std::uint64_t pick = Fnv1a(enrolment_id, step_id) % total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        if (pick < static_cast<std::uint64_t>(weights[i])) return i;
        pick -= static_cast<std::uint64_t>(weights[i]);
    }
    return weights.size() - 1;
}

double RegularizedUpperGamma(double a, double x) {
    if (!(a > 0) || !(x >= 0)) throw std::invalid_argument("Q(a, x) needs a > 0 and x >= 0");
    if (x == 0) return 1.0;
    if (std::isinf(x)) return 0.0;
    if (x < a + 1.0) return std::max(0.0, 1.0 - LowerSeries(a, x));
    return std::min(1.0, UpperFraction(a, x));
}

ChiSquareResult ChiSquareTest(const std::vector<SplitCounts>& variants) {
    std::vector<SplitCounts> used;
    for (const auto& v : variants) {
        if (v.clicked < 0 || v.sent < 0 || v.clicked > v.sent) throw std::invalid_argument("clicked must be 0..sent");
        if (v.sent > 0) used.push_back(v);
    }
    ChiSquareResult out;
    if (used.size() < 2) return out;
    out.degrees_of_freedom = static_cast<int>(used.size()) - 1;
    double n = 0, clicked = 0;
    for (const auto& v : used) {
        n += static_cast<double>(v.sent);
        clicked += static_cast<double>(v.clicked);
    }
    if (clicked == 0 || clicked == n) return out;  // one row of the table is empty: no difference to see
    double chi = 0;
    for (const auto& v : used) {
        const double sent = static_cast<double>(v.sent);
        const double expect_yes = sent * clicked / n;
        const double expect_no = sent * (n - clicked) / n;
        const double yes = static_cast<double>(v.clicked);
        const double no = sent - yes;
        chi += (yes - expect_yes) * (yes - expect_yes) / expect_yes + (no - expect_no) * (no - expect_no) / expect_no;
    }
    out.chi_square = chi;
    out.p_value = RegularizedUpperGamma(out.degrees_of_freedom / 2.0, chi / 2.0);
    return out;
}

}  // namespace crm::marketing::domain
