// Forecast sums and accuracy against hand-computed values.
#include "domain/forecast.hpp"

#include <catch2/catch.hpp>

using namespace crm::sales::domain;

TEST_CASE("forecast: weighted and by-category sums per owner and in total", "[sales][forecast]") {
    const std::vector<ForecastDeal> deals = {
        {"ann", 100000, 10, Category::kPipeline, DealStatus::kOpen},  // 1,000.00 at 10% -> 100.00
        {"ann", 50000, 50, Category::kBestCase, DealStatus::kOpen},   //   500.00 at 50% -> 250.00
        {"ann", 20000, 100, Category::kClosedWon, DealStatus::kWon},  //   200.00 won
        {"bob", 30001, 80, Category::kCommit, DealStatus::kOpen},     //   300.01 at 80% -> 240.008
        {"bob", 9999, 0, Category::kClosedLost, DealStatus::kLost},   //    99.99 lost
        {"bob", 12345, 25, Category::kPipeline, DealStatus::kOpen},   //   123.45 at 25% -> 30.8625
    };
    const Forecast f = ComputeForecast(deals);
    // Hand-computed: weighted total = 10000 + 25000 + 24000.8 + 3086.25 = 62087.05 -> 62087.
    CHECK(f.totals.weighted == 62087);
    CHECK(f.totals.pipeline == 112345);
    CHECK(f.totals.best_case == 50000);
    CHECK(f.totals.commit == 30001);
    CHECK(f.totals.closed_won == 20000);
    CHECK(f.totals.closed_lost == 9999);
    CHECK(f.totals.open_count == 4);
    CHECK(f.totals.won_count == 1);
    CHECK(f.totals.lost_count == 1);
    REQUIRE(f.by_owner.size() == 2);
    CHECK(f.by_owner.at("ann").weighted == 35000);
    CHECK(f.by_owner.at("ann").closed_won == 20000);
    CHECK(f.by_owner.at("bob").weighted == 27087);  // 24000.8 + 3086.25 = 27087.05
    CHECK(f.by_owner.at("bob").commit == 30001);
}

TEST_CASE("forecast: accuracy of a snapshot against what was won", "[sales][forecast]") {
    Figures snap;
    snap.weighted = 80000;
    snap.closed_won = 20000;
    snap.commit = 50000;
    // forecast 100,000; won 125,000 -> error -25,000 = 20% of actual -> 8000 bp.
    CHECK(ComputeAccuracy(snap, 125000) == Accuracy{100000, 70000, 125000, -25000, 8000});
    // won 100,000 exactly -> 10000 bp.
    CHECK(ComputeAccuracy(snap, 100000).basis_points == 10000);
    // won 30,000: the miss is above 100% -> 0 bp.
    CHECK(ComputeAccuracy(snap, 30000).basis_points == 0);
    // 1/3 miss: 100000 vs 75000 -> 33.333% -> 3333 bp miss -> 6667.
    CHECK(ComputeAccuracy(snap, 75000).basis_points == 6667);
    CHECK(ComputeAccuracy(Figures{}, 0).basis_points == 10000);
    CHECK(ComputeAccuracy(snap, 0).basis_points == 0);
}
