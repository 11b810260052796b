#include "crm/common/business_hours.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace crm::common {
namespace {

constexpr std::int32_t kDaySeconds = 86400;
constexpr std::size_t kMaxIntervalsPerDay = 10;
constexpr std::size_t kMaxHolidays = 1000;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The local date of a UTC instant in the calendar's zone.
std::int64_t LocalDay(const TimeZone& zone, std::int64_t utc) { return FloorDiv(zone.ToLocal(utc), kDaySeconds); }

bool IsRealDate(const CivilDate& d) {
    if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31 || d.year < 1900 || d.year >= 2200) return false;
    return CivilFromDays(DaysFromCivil(d)) == d;
}

// The parts of [span.start, span.end) outside every paused span (merged and sorted), appended to out.
void Subtract(TimeSpan span, const std::vector<TimeSpan>& paused, std::vector<TimeSpan>& out) {
    for (const TimeSpan& p : paused) {
        if (p.end <= span.start) continue;
        if (p.start >= span.end) break;
        if (p.start > span.start) out.push_back({span.start, p.start});
        span.start = std::max(span.start, p.end);
        if (span.start >= span.end) return;
    }
    if (span.start < span.end) out.push_back(span);
}

// The working pieces of one local day, clipped to [from, to) and without the paused spans.
std::vector<TimeSpan> Pieces(const BusinessCalendar& calendar, std::int64_t day, std::int64_t from, std::int64_t to,
                             const std::vector<TimeSpan>& paused) {
    std::vector<TimeSpan> out;
    for (TimeSpan span : calendar.WorkingSpans(CivilFromDays(day))) {
        span.start = std::max(span.start, from);
        span.end = std::min(span.end, to);
        if (span.start < span.end) Subtract(span, paused, out);
    }
    return out;
}

}  // namespace

WeekHours WeekdayHours(const std::vector<WorkingHours>& hours) {
    WeekHours week;
    for (unsigned d = 1; d <= 5; ++d) week[d] = hours;
    return week;
}

WeekHours AllDayEveryDay() {
    WeekHours week;
    for (auto& day : week) day = {{0, kDaySeconds}};
    return week;
}

void CheckCalendar(Violations& v, const WeekHours& week, const std::vector<CivilDate>& holidays,
                   const std::string& prefix) {
    for (std::size_t d = 0; d < week.size(); ++d) {
        const std::string field = prefix + "week[" + std::to_string(d) + "]";
        const auto& day = week[d];
        if (day.size() > kMaxIntervalsPerDay) {
            v.Add(field, "at most " + std::to_string(kMaxIntervalsPerDay) + " working intervals a day");
            continue;
        }
        std::int32_t previous_end = -1;
        for (const WorkingHours& h : day) {
            if (h.start < 0 || h.end > kDaySeconds || h.start >= h.end) {
                v.Add(field, "each interval needs 0 <= start < end <= 86400 (seconds after local midnight)");
                break;
            }
            if (h.start < previous_end) {
                v.Add(field, "intervals must be in ascending order and must not overlap");
                break;
            }
            previous_end = h.end;
        }
    }
    if (holidays.size() > kMaxHolidays) {
        v.Add(prefix + "holidays", "at most " + std::to_string(kMaxHolidays) + " holidays");
        return;
    }
    std::vector<std::int64_t> seen;
    for (std::size_t i = 0; i < holidays.size(); ++i) {
        const std::string field = prefix + "holidays[" + std::to_string(i) + "]";
        if (!IsRealDate(holidays[i])) {
            v.Add(field, "not a calendar date between 1900 and 2199");
            continue;
        }
        const std::int64_t day = DaysFromCivil(holidays[i]);
        if (std::find(seen.begin(), seen.end(), day) != seen.end()) {
            v.Add(field, "this date is listed twice");
            continue;
        }
        seen.push_back(day);
    }
}

BusinessCalendar BusinessCalendar::Make(std::shared_ptr<const TimeZone> zone, WeekHours week,
                                        std::vector<CivilDate> holidays) {
    if (!zone) throw std::invalid_argument("a business calendar needs a time zone");
    Violations v;
    CheckCalendar(v, week, holidays, "");
    if (!v.empty())
        throw std::invalid_argument("invalid business calendar: " + v.list()[0].field + " " + v.list()[0].description);
    BusinessCalendar c;
    c.zone_ = std::move(zone);
    c.week_ = std::move(week);
    for (const auto& h : holidays) c.holidays_.push_back(DaysFromCivil(h));
    std::sort(c.holidays_.begin(), c.holidays_.end());
    return c;
}

bool BusinessCalendar::IsHoliday(const CivilDate& date) const {
    return std::binary_search(holidays_.begin(), holidays_.end(), DaysFromCivil(date));
}

bool BusinessCalendar::HasWorkingTime() const {
    return std::any_of(week_.begin(), week_.end(), [](const auto& day) { return !day.empty(); });
}

std::vector<TimeSpan> BusinessCalendar::WorkingSpans(const CivilDate& date) const {
    std::vector<TimeSpan> out;
    if (IsHoliday(date)) return out;
    for (const WorkingHours& h : week_[Weekday(date)]) {
        const std::int64_t start = zone_->ToUtc(date, h.start);
        const std::int64_t end = zone_->ToUtc(date, h.end);
        if (end > start) out.push_back({start, end});
    }
    return out;
}

std::vector<TimeSpan> MergeSpans(std::vector<TimeSpan> spans) {
    spans.erase(std::remove_if(spans.begin(), spans.end(), [](const TimeSpan& s) { return s.end <= s.start; }),
                spans.end());
    std::sort(spans.begin(), spans.end(), [](const TimeSpan& a, const TimeSpan& b) { return a.start < b.start; });
    std::vector<TimeSpan> out;
    for (const TimeSpan& s : spans) {
        if (!out.empty() && s.start <= out.back().end) {
            out.back().end = std::max(out.back().end, s.end);
        } else {
            out.push_back(s);
        }
    }
    return out;
}

std::int64_t BusinessSecondsBetween(const BusinessCalendar& calendar, std::int64_t from, std::int64_t to,
                                    const std::vector<TimeSpan>& paused) {
    if (to <= from) return 0;
    const std::vector<TimeSpan> merged = MergeSpans(paused);
    std::int64_t total = 0;
    const std::int64_t last = LocalDay(calendar.zone(), to - 1);
    for (std::int64_t day = LocalDay(calendar.zone(), from); day <= last; ++day) {
        for (const TimeSpan& piece : Pieces(calendar, day, from, to, merged)) total += piece.end - piece.start;
    }
    return total;
}

std::optional<std::int64_t> AddBusinessSeconds(const BusinessCalendar& calendar, std::int64_t from,
                                               std::int64_t seconds, const std::vector<TimeSpan>& paused,
                                               int horizon_days) {
    if (seconds <= 0) return from;
    if (!calendar.HasWorkingTime()) return std::nullopt;
    const std::vector<TimeSpan> merged = MergeSpans(paused);
    // After an open pause begins, the clock never runs again.
    const std::int64_t stop = !merged.empty() && merged.back().end == kOpenEnd ? merged.back().start : kOpenEnd;
    std::int64_t remaining = seconds;
    const std::int64_t first = LocalDay(calendar.zone(), from);
    for (std::int64_t day = first; day <= first + horizon_days; ++day) {
        for (const TimeSpan& piece : Pieces(calendar, day, from, kOpenEnd, merged)) {
            const std::int64_t available = piece.end - piece.start;
            if (remaining <= available) return piece.start + remaining;
            remaining -= available;
        }
        if (stop != kOpenEnd && calendar.zone().ToUtc(CivilFromDays(day + 1), 0) >= stop) return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace crm::common
