#include "domain/route.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>

using namespace crm::fieldservice::domain;

namespace {

const HaversineTravel kTravel(60);  // 1 km per minute
constexpr std::int64_t kBegin = 1'900'000'000;

bool KeepsWindows(const Route& r, const std::vector<Stop>& stops, const Day& day) {
    std::int64_t previous_end = day.begin;
    for (const auto& leg : r.legs) {
        const Stop& s = stops[leg.stop];
        if (leg.start < leg.arrival || leg.arrival < previous_end) return false;
        bool inside = s.windows.empty();
        for (const auto& w : s.windows)
            inside = inside || (w.start <= leg.start && leg.start + s.duration_seconds <= w.end);
        if (!inside) return false;
        previous_end = leg.start + s.duration_seconds;
    }
    return previous_end <= day.end;
}

}  // namespace

TEST_CASE("a zig-zag booked order is straightened - ETAs include travel") {
    // Five stops on a line east of the start, 0.1 degrees (~7 km at 52 N) apart, booked in the order 4 0 3 1 2.
    const Day day{{52.0, 13.0}, kBegin, kBegin + 10 * 3600};
    std::vector<Stop> stops;
    for (int i = 0; i < 5; ++i) stops.push_back({"s" + std::to_string(i), {52.0, 13.1 + 0.1 * i}, 1800, {}});
    const Plan plan = PlanDay(day, stops, {4, 0, 3, 1, 2}, kTravel);
    REQUIRE(plan.planned.feasible);
    CHECK_FALSE(plan.booked_kept);
    CHECK(plan.planned.travel_minutes < plan.booked.travel_minutes);
    std::vector<std::size_t> order;
    for (const auto& leg : plan.planned.legs) order.push_back(leg.stop);
    CHECK(order == std::vector<std::size_t>{0, 1, 2, 3, 4});
    CHECK(plan.planned.legs[0].arrival == kBegin + plan.planned.legs[0].travel_minutes * 60);
    CHECK(plan.planned.legs[1].arrival == plan.planned.legs[0].start + 1800 + plan.planned.legs[1].travel_minutes * 60);
}

TEST_CASE("windows force an order that travels more - the plan keeps them") {
    const Day day{{52.0, 13.0}, kBegin, kBegin + 10 * 3600};
    // The far stop must be visited first (its window closes early), the near one later.
    std::vector<Stop> stops = {{"near", {52.0, 13.05}, 1800, {{kBegin + 4 * 3600, kBegin + 6 * 3600}}},
                               {"far", {52.0, 13.5}, 1800, {{kBegin, kBegin + 2 * 3600}}}};
    const Plan plan = PlanDay(day, stops, {1, 0}, kTravel);
    REQUIRE(plan.planned.feasible);
    CHECK(plan.booked_kept);
    CHECK(plan.planned.legs[0].stop == 1);
    CHECK(plan.planned.legs[1].start == kBegin + 4 * 3600);  // waits for the window
    CHECK(KeepsWindows(plan.planned, stops, day));
}

TEST_CASE("random days: the plan keeps every window and is never worse than a feasible booked order") {
    std::mt19937 rng(20261203);
    std::uniform_real_distribution<double> offset(-0.3, 0.3);
    int improved = 0;
    for (int round = 0; round < 300; ++round) {
        const Day day{{52.0, 13.0}, kBegin, kBegin + 10 * 3600};
        const std::size_t n = 2 + rng() % 9;
        std::vector<Stop> stops;
        for (std::size_t i = 0; i < n; ++i) {
            Stop s{"s" + std::to_string(i), {52.0 + offset(rng), 13.0 + offset(rng)}, 1200, {}};
            if (rng() % 2) {
                const std::int64_t open = kBegin + static_cast<std::int64_t>(rng() % 6) * 3600;
                s.windows.push_back({open, open + 3 * 3600});
            }
            stops.push_back(s);
        }
        std::vector<std::size_t> booked(n);
        for (std::size_t i = 0; i < n; ++i) booked[i] = i;
        std::shuffle(booked.begin(), booked.end(), rng);
        const Plan plan = PlanDay(day, stops, booked, kTravel);
        if (plan.booked.feasible) {
            REQUIRE(plan.planned.feasible);
            CHECK(plan.planned.travel_minutes <= plan.booked.travel_minutes);
            improved += plan.planned.travel_minutes < plan.booked.travel_minutes ? 1 : 0;
        }
        if (plan.planned.feasible) CHECK(KeepsWindows(plan.planned, stops, day));
        CHECK(plan.planned.legs.size() == n);
    }
    CHECK(improved > 50);
}

TEST_CASE("25 stops are planned feasibly and shorter than in their booked order") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> offset(-0.2, 0.2);
    const Day day{{52.0, 13.0}, kBegin, kBegin + 24 * 3600};
    std::vector<Stop> stops;
    for (int i = 0; i < 25; ++i) stops.push_back({"s", {52.0 + offset(rng), 13.0 + offset(rng)}, 900, {}});
    std::vector<std::size_t> booked(25);
    for (std::size_t i = 0; i < 25; ++i) booked[i] = i;
    // Its speed is a benchmark figure (tests/bench/fieldservice.sh, PlanDay of 25 visits), not asserted here.
    const Plan plan = PlanDay(day, stops, booked, kTravel);
    CHECK(plan.planned.feasible);
    CHECK(plan.planned.legs.size() == 25);
    CHECK(plan.planned.travel_minutes < plan.booked.travel_minutes);
}
