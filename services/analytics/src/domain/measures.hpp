#pragma once
// Exact measures shared by the support and field KPIs: durations summed in microseconds and rounded once, and
// ratios as their two counts. Pure.
#include <cstdint>

namespace crm::analytics::domain {

struct Durations {
    int64_t count = 0;
    int64_t total_micros = 0;
    int64_t TotalSeconds() const;    // rounded half away from zero
    int64_t AverageSeconds() const;  // total / count, rounded once; 0 without any
    bool operator==(const Durations&) const = default;
};

struct Counts {
    int64_t numerator = 0;
    int64_t denominator = 0;
    bool operator==(const Counts&) const = default;
};

}  // namespace crm::analytics::domain
