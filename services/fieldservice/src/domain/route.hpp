#pragma once
// Route planning of one technician's day (PlanDay): the order of the day's visits that minimises travel while keeping
// every customer window and the working day, with ETAs. Nearest-neighbour start, then 2-opt (segment reversal) and
// or-opt (moving runs of 1 to 3 visits) improvements that are accepted only when the route stays feasible and
// travels less. The result is never worse than the booked order: when that order is feasible and nothing better is
// found, it is returned unchanged. Pure: times are Unix seconds, travel in whole minutes from a TravelModel.
#include <cstdint>
#include <string>
#include <vector>

#include "domain/availability.hpp"
#include "domain/geo.hpp"

namespace crm::fieldservice::domain {

struct Stop {
    std::string id;
    Point where;
    std::int64_t duration_seconds = 0;
    std::vector<Interval> windows;  // the visit [start, start + duration) must lie inside one; none = any time
};

struct Day {
    Point start;             // where the technician starts (home base)
    std::int64_t begin = 0;  // start of the working day
    std::int64_t end = 0;    // every visit ends by then
};

struct Leg {
    std::size_t stop = 0;  // index into the stops
    std::int64_t arrival = 0;
    std::int64_t start = 0;  // arrival, or later when the window opens later
    int travel_minutes = 0;
};

struct Route {
    std::vector<Leg> legs;  // in visiting order
    int travel_minutes = 0;
    bool feasible = false;
};

// Drives `order` (indexes into `stops`): travel from the previous stop, wait for the window, visit.
Route Simulate(const Day& day, const std::vector<Stop>& stops, const std::vector<std::size_t>& order,
               const TravelModel& travel);

struct Plan {
    Route planned;
    Route booked;
    bool booked_kept = false;  // the booked order was returned (nothing feasible travelled less)
};

// `booked` is the booked visiting order (indexes into `stops`, every stop once).
Plan PlanDay(const Day& day, const std::vector<Stop>& stops, const std::vector<std::size_t>& booked,
             const TravelModel& travel);

}  // namespace crm::fieldservice::domain
