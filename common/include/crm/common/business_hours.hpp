#pragma once
// Business-hours arithmetic for SLA clocks (support cases, field-service work orders, ...): a calendar of working
// hours per weekday in an IANA time zone, with holidays, and intervals during which a clock is paused (a case waiting
// for the customer). Pure: no gRPC, no database; thread-safe (a calendar is an immutable value).
//
// Time is Unix seconds (UTC). Working hours are wall-clock times of the calendar's zone, converted with
// common::TimeZone for each day, so a working day that contains a DST change is as long as the clock says: 01:00-04:00
// on the night clocks spring forward is two hours of business time, on the night they fall back four. Business time
// counts elapsed seconds inside working intervals, outside holidays and outside pauses.
//
//   BusinessCalendar cal = BusinessCalendar::Make(TimeZone::Load("Europe/Berlin"),
//                                                 WeekdayHours({9 * 3600, 17 * 3600}), {{2026, 12, 25}});
//   auto due = AddBusinessSeconds(cal, created, 4 * 3600, pauses);   // the SLA deadline
//   auto used = BusinessSecondsBetween(cal, created, now, pauses);  // elapsed business time
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/civil_date.hpp"
#include "crm/common/timezone.hpp"
#include "crm/common/violations.hpp"

namespace crm::common {

// A working interval of one day: [start, end) in seconds after local midnight, 0 <= start < end <= 86400.
struct WorkingHours {
    std::int32_t start = 0;
    std::int32_t end = 0;
    bool operator==(const WorkingHours&) const = default;
};

// A span of UTC seconds [start, end); end = kOpenEnd for a pause that has not ended yet.
struct TimeSpan {
    std::int64_t start = 0;
    std::int64_t end = 0;
    bool operator==(const TimeSpan&) const = default;
};
inline constexpr std::int64_t kOpenEnd = std::numeric_limits<std::int64_t>::max();

// Working hours by weekday, index 0 = Sunday .. 6 = Saturday (common::Weekday), each day's intervals ascending and
// disjoint.
using WeekHours = std::array<std::vector<WorkingHours>, 7>;
// The same hours Monday to Friday, none at the weekend.
WeekHours WeekdayHours(const std::vector<WorkingHours>& hours);
// Every day, all day (a 24/7 calendar).
WeekHours AllDayEveryDay();

// The problems of a week's hours and holidays, each added under `prefix` (e.g. "calendar."): intervals out of
// [0, 86400], empty, overlapping or out of order ("<prefix>week[<day>]"), holidays that are not real dates or are
// repeated ("<prefix>holidays[<i>]"). At most 10 intervals a day and 1000 holidays.
void CheckCalendar(Violations& violations, const WeekHours& week, const std::vector<CivilDate>& holidays,
                   const std::string& prefix);

class BusinessCalendar {
  public:
    // Throws std::invalid_argument when zone is null or the hours or holidays have problems (CheckCalendar).
    static BusinessCalendar Make(std::shared_ptr<const TimeZone> zone, WeekHours week,
                                 std::vector<CivilDate> holidays = {});

    const TimeZone& zone() const { return *zone_; }
    const WeekHours& week() const { return week_; }
    bool IsHoliday(const CivilDate& date) const;
    // Whether any weekday has working hours.
    bool HasWorkingTime() const;
    // The working spans (UTC) of one local date: none on a holiday.
    std::vector<TimeSpan> WorkingSpans(const CivilDate& date) const;

  private:
    BusinessCalendar() = default;
    std::shared_ptr<const TimeZone> zone_;
    WeekHours week_;
    std::vector<std::int64_t> holidays_;  // days since 1970-01-01, ascending
};

// Business seconds in [from, to) (0 when to <= from), not counting the paused spans (any order, may overlap).
std::int64_t BusinessSecondsBetween(const BusinessCalendar& calendar, std::int64_t from, std::int64_t to,
                                    const std::vector<TimeSpan>& paused = {});

// The instant at which `seconds` business seconds have passed since `from`, not counting the paused spans: the end
// of the last second needed (a deadline that falls exactly at a working interval's end is that end, not the next
// morning). `seconds` = 0 gives `from`. nullopt when the calendar has no working time, when an open pause stops the
// clock for good, or when the deadline lies more than `horizon_days` days ahead.
std::optional<std::int64_t> AddBusinessSeconds(const BusinessCalendar& calendar, std::int64_t from,
                                               std::int64_t seconds, const std::vector<TimeSpan>& paused = {},
                                               int horizon_days = 3660);

// The paused spans sorted and merged (touching or overlapping spans become one; empty spans dropped).
std::vector<TimeSpan> MergeSpans(std::vector<TimeSpan> spans);

}  // namespace crm::common
