#pragma once
// A technician's availability for one visit: working hours (wall clock in the technician's IANA time zone, so they
// follow DST changes), time off, the appointments already booked (each blocking its travel from the previous stop and
// the visit), and the customer's windows. Pure: times are Unix seconds (UTC), travel is whole minutes from a
// TravelModel.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "crm/common/timezone.hpp"
#include "domain/geo.hpp"

namespace crm::fieldservice::domain {

// [start, end) in Unix seconds.
struct Interval {
    std::int64_t start = 0;
    std::int64_t end = 0;
    bool operator==(const Interval&) const = default;
};

struct WorkingHoursRule {
    int weekday = 1;  // 0 = Sunday .. 6 = Saturday
    int start_minute = 0;
    int end_minute = 0;  // exclusive, up to 1440
};

// A booked appointment as the calendar sees it.
struct Booked {
    std::int64_t block_start = 0;  // start - travel
    std::int64_t start = 0;
    std::int64_t end = 0;
    Point where;
};

// Where the technician's device last said they were (a recent report only: the caller decides what is recent).
struct LivePosition {
    Point where;
    std::int64_t at = 0;
};

struct Calendar {
    std::shared_ptr<const common::TimeZone> zone;
    std::vector<WorkingHoursRule> hours;
    std::vector<Interval> time_off;
    std::vector<Booked> booked;  // any order
    Point home;
    std::optional<LivePosition> live;
};

struct Visit {
    std::vector<Interval> windows;  // the customer's; at least one
    std::int64_t duration_seconds = 0;
    Point site;
    std::int64_t not_before = 0;  // e.g. now: no slot starts earlier
};

struct Slot {
    std::int64_t start = 0;
    std::int64_t end = 0;
    int travel_minutes = 0;
    double distance_meters = 0;  // of that travel
};

// The technician's working intervals (UTC, sorted, merged) on the local days that touch [from, to).
std::vector<Interval> WorkingIntervals(const common::TimeZone& zone, const std::vector<WorkingHoursRule>& hours,
                                       std::int64_t from, std::int64_t to);

// The earliest feasible slot: the block [start - travel, end) inside one working interval, clear of every booked
// block and time off; the visit [start, end) inside one customer window; start >= not_before. Travel is from the
// previous stop of the same working interval (the latest booked visit ending before the block), else from home —
// unless the live position was reported in that working interval after that visit ended (the technician is on the
// way): then from the live position.
std::optional<Slot> EarliestSlot(const Calendar& calendar, const Visit& visit, const TravelModel& travel);

// The same rules for a start the dispatcher picked: the slot, or nullopt when it is not feasible.
std::optional<Slot> SlotAt(const Calendar& calendar, const Visit& visit, const TravelModel& travel, std::int64_t start);

// Booked share (0..1) of the working time that lies inside the hull of the windows (0 without working time).
double Utilisation(const Calendar& calendar, const std::vector<Interval>& windows);

}  // namespace crm::fieldservice::domain
