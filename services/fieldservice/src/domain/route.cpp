#include "domain/route.hpp"

#include <algorithm>
#include <limits>

namespace crm::fieldservice::domain {

namespace {

// Travel minutes between the day's start and the stops, computed once per plan.
struct Matrix {
    std::vector<int> from_start;
    std::vector<std::vector<int>> between;
    Matrix(const Day& day, const std::vector<Stop>& stops, const TravelModel& travel)
        : from_start(stops.size()), between(stops.size(), std::vector<int>(stops.size())) {
        for (std::size_t i = 0; i < stops.size(); ++i) {
            from_start[i] = travel.TravelMinutes(day.start, stops[i].where);
            for (std::size_t j = 0; j < stops.size(); ++j) {
                between[i][j] = i == j ? 0 : travel.TravelMinutes(stops[i].where, stops[j].where);
            }
        }
    }
    int Minutes(std::size_t from, std::size_t to) const { return from == kStart ? from_start[to] : between[from][to]; }
    static constexpr std::size_t kStart = std::numeric_limits<std::size_t>::max();
};

Route Drive(const Day& day, const std::vector<Stop>& stops, const std::vector<std::size_t>& order, const Matrix& m);

// The start of the visit in the first window that can hold it from `arrival` on; -1 when none can.
std::int64_t StartIn(const Stop& stop, std::int64_t arrival) {
    if (stop.windows.empty()) return arrival;
    std::int64_t best = -1;
    for (const auto& w : stop.windows) {
        const std::int64_t start = std::max(arrival, w.start);
        if (start + stop.duration_seconds <= w.end && (best < 0 || start < best)) best = start;
    }
    return best;
}

bool Better(const Route& a, const Route& b) {
    if (a.feasible != b.feasible) return a.feasible;
    return a.travel_minutes < b.travel_minutes;
}

Route NearestNeighbour(const Day& day, const std::vector<Stop>& stops, const Matrix& m) {
    std::vector<std::size_t> order;
    std::vector<bool> used(stops.size(), false);
    std::size_t here = Matrix::kStart;
    std::int64_t now = day.begin;
    for (std::size_t step = 0; step < stops.size(); ++step) {
        std::size_t pick = stops.size();
        int pick_minutes = std::numeric_limits<int>::max();
        std::size_t fallback = stops.size();
        std::int64_t fallback_end = std::numeric_limits<std::int64_t>::max();
        for (std::size_t i = 0; i < stops.size(); ++i) {
            if (used[i]) continue;
            const int minutes = m.Minutes(here, i);
            const std::int64_t start = StartIn(stops[i], now + minutes * 60LL);
            if (start >= 0 && minutes < pick_minutes) {
                pick = i;
                pick_minutes = minutes;
            }
            std::int64_t latest = std::numeric_limits<std::int64_t>::max();
            for (const auto& w : stops[i].windows) latest = std::min(latest, w.end);
            if (latest < fallback_end || fallback == stops.size()) {
                fallback = i;
                fallback_end = latest;
            }
        }
        if (pick == stops.size()) pick = fallback;  // nothing fits next: the most urgent, the route is then infeasible
        used[pick] = true;
        order.push_back(pick);
        const int minutes = m.Minutes(here, pick);
        const std::int64_t start = StartIn(stops[pick], now + minutes * 60LL);
        now = (start >= 0 ? start : now + minutes * 60LL) + stops[pick].duration_seconds;
        here = pick;
    }
    return Drive(day, stops, order, m);
}

std::vector<std::size_t> OrderOf(const Route& r) {
    std::vector<std::size_t> order;
    for (const auto& leg : r.legs) order.push_back(leg.stop);
    return order;
}

// 2-opt and or-opt until no move improves the route (bounded passes).
Route Improve(const Day& day, const std::vector<Stop>& stops, Route best, const Matrix& m) {
    const std::size_t n = stops.size();
    for (int pass = 0; pass < 50; ++pass) {
        bool improved = false;
        std::vector<std::size_t> order = OrderOf(best);
        for (std::size_t i = 0; i + 1 < n && !improved; ++i) {
            for (std::size_t j = i + 1; j < n && !improved; ++j) {
                std::vector<std::size_t> candidate = order;
                std::reverse(candidate.begin() + static_cast<long>(i), candidate.begin() + static_cast<long>(j) + 1);
                Route r = Drive(day, stops, candidate, m);
                if (Better(r, best)) {
                    best = std::move(r);
                    improved = true;
                }
            }
        }
        for (std::size_t len = 1; len <= 3 && !improved; ++len) {
            for (std::size_t i = 0; i + len <= n && !improved; ++i) {
                std::vector<std::size_t> rest = order;
                const std::vector<std::size_t> run(order.begin() + static_cast<long>(i),
                                                   order.begin() + static_cast<long>(i + len));
                rest.erase(rest.begin() + static_cast<long>(i), rest.begin() + static_cast<long>(i + len));
                for (std::size_t k = 0; k <= rest.size() && !improved; ++k) {
                    if (k == i) continue;
                    std::vector<std::size_t> candidate = rest;
                    candidate.insert(candidate.begin() + static_cast<long>(k), run.begin(), run.end());
                    Route r = Drive(day, stops, candidate, m);
                    if (Better(r, best)) {
                        best = std::move(r);
                        improved = true;
                    }
                }
            }
        }
        if (!improved) break;
    }
    return best;
}

Route Drive(const Day& day, const std::vector<Stop>& stops, const std::vector<std::size_t>& order, const Matrix& m) {
    Route r;
    r.feasible = true;
    std::size_t here = Matrix::kStart;
    std::int64_t now = day.begin;
    for (std::size_t index : order) {
        const Stop& stop = stops[index];
        Leg leg;
        leg.stop = index;
        leg.travel_minutes = m.Minutes(here, index);
        leg.arrival = now + leg.travel_minutes * 60LL;
        leg.start = StartIn(stop, leg.arrival);
        if (leg.start < 0) {
            r.feasible = false;
            leg.start = leg.arrival;
        }
        now = leg.start + stop.duration_seconds;
        if (now > day.end) r.feasible = false;
        r.travel_minutes += leg.travel_minutes;
        here = index;
        r.legs.push_back(leg);
    }
    return r;
}

}  // namespace

Route Simulate(const Day& day, const std::vector<Stop>& stops, const std::vector<std::size_t>& order,
               const TravelModel& travel) {
    return Drive(day, stops, order, Matrix(day, stops, travel));
}

Plan PlanDay(const Day& day, const std::vector<Stop>& stops, const std::vector<std::size_t>& booked,
             const TravelModel& travel) {
    Plan plan;
    const Matrix m(day, stops, travel);
    plan.booked = Drive(day, stops, booked, m);
    Route best = Improve(day, stops, NearestNeighbour(day, stops, m), m);
    const Route from_booked = Improve(day, stops, plan.booked, m);
    if (Better(from_booked, best)) best = from_booked;
    if (plan.booked.feasible && !(best.feasible && best.travel_minutes < plan.booked.travel_minutes)) {
        plan.planned = plan.booked;
        plan.booked_kept = true;
    } else {
        plan.planned = best;
    }
    return plan;
}

}  // namespace crm::fieldservice::domain
