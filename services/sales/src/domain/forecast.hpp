#pragma once
// Forecast arithmetic over the deals of one period and currency (exact integers, no floating point).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/pipeline.hpp"

namespace crm::sales::domain {

struct ForecastDeal {
    std::string owner_id;
    std::int64_t amount = 0;  // minor units
    int probability = 0;      // percent
    Category category = Category::kUnspecified;
    DealStatus status = DealStatus::kOpen;
};

struct Figures {
    std::int64_t pipeline = 0, best_case = 0, commit = 0, closed_won = 0, closed_lost = 0, weighted = 0;
    std::int64_t open_count = 0, won_count = 0, lost_count = 0;
    bool operator==(const Figures&) const = default;
};

struct Forecast {
    Figures totals;
    std::map<std::string, Figures> by_owner;  // ordered by owner id
};

// Open deals add their amount to their category and amount × probability to the weighted numerator; won deals add
// to closed_won, lost ones to closed_lost. weighted = round_half_even(Σ amount × probability / 100), computed once
// per group (so owners' weighted figures may differ from the total by rounding, at most 1 minor unit each).
Forecast ComputeForecast(const std::vector<ForecastDeal>& deals);

struct Accuracy {
    std::int64_t forecast = 0;  // snapshot weighted + snapshot closed_won
    std::int64_t commit = 0;    // snapshot commit + snapshot closed_won
    std::int64_t actual_won = 0;
    std::int64_t error = 0;  // forecast − actual
    int basis_points = 0;    // 10000 = perfect
    bool operator==(const Accuracy&) const = default;
};

// accuracy = 10000 − min(10000, round_half_even(|forecast − actual| × 10000 / actual)) for actual > 0;
// for actual = 0: 10000 when forecast = 0, else 0.
Accuracy ComputeAccuracy(const Figures& snapshot, std::int64_t actual_won);

}  // namespace crm::sales::domain
