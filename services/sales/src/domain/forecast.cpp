#include "domain/forecast.hpp"

#include "domain/decimal.hpp"

namespace crm::sales::domain {
namespace {

struct Accumulator {
    Figures figures;
    Int128 weighted_numerator = 0;

    void Add(const ForecastDeal& d) {
        if (d.status == DealStatus::kWon) {
            figures.closed_won += d.amount;
            ++figures.won_count;
        } else if (d.status == DealStatus::kLost) {
            figures.closed_lost += d.amount;
            ++figures.lost_count;
        } else {
            ++figures.open_count;
            weighted_numerator += static_cast<Int128>(d.amount) * d.probability;
            if (d.category == Category::kPipeline) figures.pipeline += d.amount;
            if (d.category == Category::kBestCase) figures.best_case += d.amount;
            if (d.category == Category::kCommit) figures.commit += d.amount;
        }
    }
    Figures Done() const {
        Figures out = figures;
        out.weighted = WeightedAmount(weighted_numerator);
        return out;
    }
};

}  // namespace

Forecast ComputeForecast(const std::vector<ForecastDeal>& deals) {
    Accumulator total;
    std::map<std::string, Accumulator> owners;
    for (const auto& d : deals) {
        total.Add(d);
        owners[d.owner_id].Add(d);
    }
    Forecast out;
    out.totals = total.Done();
    for (const auto& [owner, acc] : owners) out.by_owner[owner] = acc.Done();
    return out;
}

Accuracy ComputeAccuracy(const Figures& snapshot, std::int64_t actual_won) {
    Accuracy a;
    a.forecast = snapshot.weighted + snapshot.closed_won;
    a.commit = snapshot.commit + snapshot.closed_won;
    a.actual_won = actual_won;
    a.error = a.forecast - actual_won;
    if (actual_won > 0) {
        const Int128 magnitude = a.error < 0 ? -static_cast<Int128>(a.error) : static_cast<Int128>(a.error);
        Int128 miss = DivRoundHalfEven(magnitude * 10000, actual_won);
        if (miss > 10000) miss = 10000;
        a.basis_points = static_cast<int>(10000 - miss);
    } else {
        a.basis_points = a.forecast == 0 ? 10000 : 0;
    }
    return a;
}

}  // namespace crm::sales::domain
