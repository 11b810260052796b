#include "domain/availability.hpp"

#include <algorithm>
#include <limits>

namespace crm::fieldservice::domain {

namespace {

constexpr std::int64_t kDay = 86400;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::vector<Interval> Merge(std::vector<Interval> in) {
    std::sort(in.begin(), in.end(), [](const Interval& a, const Interval& b) { return a.start < b.start; });
    std::vector<Interval> out;
    for (const auto& i : in) {
        if (i.end <= i.start) continue;
        if (!out.empty() && i.start <= out.back().end) {
            out.back().end = std::max(out.back().end, i.end);
        } else {
            out.push_back(i);
        }
    }
    return out;
}

// `from` minus every interval of `holes` (merged, sorted).
std::vector<Interval> Subtract(const Interval& from, const std::vector<Interval>& holes) {
    std::vector<Interval> out;
    std::int64_t cursor = from.start;
    for (const auto& h : holes) {
        if (h.end <= cursor) continue;
        if (h.start >= from.end) break;
        if (h.start > cursor) out.push_back({cursor, std::min(h.start, from.end)});
        cursor = std::max(cursor, h.end);
        if (cursor >= from.end) break;
    }
    if (cursor < from.end) out.push_back({cursor, from.end});
    return out;
}

std::vector<Interval> Busy(const Calendar& c) {
    std::vector<Interval> busy = c.time_off;
    for (const auto& b : c.booked) busy.push_back({b.block_start, b.end});
    return Merge(std::move(busy));
}

// Where the technician comes from for a block that starts at or after `at` inside working interval `day`.
Point PreviousStop(const Calendar& c, const Interval& day, std::int64_t at) {
    const Booked* prev = nullptr;
    for (const auto& b : c.booked) {
        if (b.end <= at && b.end > day.start && (prev == nullptr || b.end > prev->end)) prev = &b;
    }
    if (c.live && c.live->at >= day.start && c.live->at <= at && (prev == nullptr || prev->end <= c.live->at)) {
        return c.live->where;
    }
    return prev ? prev->where : c.home;
}

bool Inside(const Interval& outer, std::int64_t start, std::int64_t end) {
    return outer.start <= start && end <= outer.end;
}

}  // namespace

std::vector<Interval> WorkingIntervals(const common::TimeZone& zone, const std::vector<WorkingHoursRule>& hours,
                                       std::int64_t from, std::int64_t to) {
    std::vector<Interval> out;
    const std::int64_t first = FloorDiv(zone.ToLocal(from), kDay) - 1;
    const std::int64_t last = FloorDiv(zone.ToLocal(to), kDay) + 1;
    for (std::int64_t d = first; d <= last; ++d) {
        const common::CivilDate date = common::CivilFromDays(d);
        const int weekday = static_cast<int>(common::Weekday(date));
        for (const auto& h : hours) {
            if (h.weekday != weekday || h.end_minute <= h.start_minute) continue;
            const std::int64_t start = zone.ToUtc(date, h.start_minute * 60);
            const std::int64_t end = zone.ToUtc(date, h.end_minute * 60);
            if (end > from && start < to) out.push_back({start, end});
        }
    }
    return Merge(std::move(out));
}

std::optional<Slot> EarliestSlot(const Calendar& calendar, const Visit& visit, const TravelModel& travel) {
    if (!calendar.zone || visit.windows.empty()) return std::nullopt;
    const std::vector<Interval> busy = Busy(calendar);
    std::optional<Slot> best;
    for (const auto& window : visit.windows) {
        const std::int64_t w_start = std::max(window.start, visit.not_before);
        if (w_start + visit.duration_seconds > window.end) continue;
        // Travel is at most a day: working intervals a day either side cover every block that can serve the window.
        for (const auto& day : WorkingIntervals(*calendar.zone, calendar.hours, w_start - kDay, window.end)) {
            for (const auto& free : Subtract(day, busy)) {
                // The block starts at the earliest when the free time starts and not before not_before's travel:
                // the previous stop is the last one known then (a live position reported up to not_before counts).
                const Point from = PreviousStop(calendar, day, std::max(free.start, visit.not_before));
                const int minutes = travel.TravelMinutes(from, visit.site);
                const std::int64_t start = std::max<std::int64_t>(free.start + minutes * 60LL, w_start);
                const std::int64_t end = start + visit.duration_seconds;
                if (end > free.end || end > window.end) continue;
                // The block may start later than the free interval's start: travel from the same previous stop.
                if (!best || start < best->start) {
                    best = Slot{start, end, minutes, HaversineMeters(from, visit.site)};
                }
                break;  // later free intervals of this day start later
            }
        }
    }
    return best;
}

std::optional<Slot> SlotAt(const Calendar& calendar, const Visit& visit, const TravelModel& travel,
                           std::int64_t start) {
    if (!calendar.zone || start < visit.not_before) return std::nullopt;
    const std::int64_t end = start + visit.duration_seconds;
    bool in_window = false;
    for (const auto& w : visit.windows) in_window = in_window || Inside(w, start, end);
    if (!in_window) return std::nullopt;
    const std::vector<Interval> busy = Busy(calendar);
    for (const auto& day : WorkingIntervals(*calendar.zone, calendar.hours, start - kDay, end)) {
        if (!Inside(day, start, end)) continue;
        const Point from = PreviousStop(calendar, day, start);
        const int minutes = travel.TravelMinutes(from, visit.site);
        const std::int64_t block_start = start - static_cast<std::int64_t>(minutes) * 60;
        if (block_start < day.start) return std::nullopt;
        for (const auto& free : Subtract(day, busy)) {
            if (Inside(free, block_start, end)) return Slot{start, end, minutes, HaversineMeters(from, visit.site)};
        }
        return std::nullopt;
    }
    return std::nullopt;
}

double Utilisation(const Calendar& calendar, const std::vector<Interval>& windows) {
    if (!calendar.zone || windows.empty()) return 0;
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    for (const auto& w : windows) {
        lo = std::min(lo, w.start);
        hi = std::max(hi, w.end);
    }
    std::int64_t working = 0, booked = 0;
    std::vector<Interval> blocks;
    for (const auto& b : calendar.booked) blocks.push_back({b.block_start, b.end});
    blocks = Merge(std::move(blocks));
    for (const auto& day : WorkingIntervals(*calendar.zone, calendar.hours, lo, hi)) {
        const Interval clipped{std::max(day.start, lo), std::min(day.end, hi)};
        if (clipped.end <= clipped.start) continue;
        working += clipped.end - clipped.start;
        for (const auto& b : blocks) {
            const std::int64_t s = std::max(b.start, clipped.start), e = std::min(b.end, clipped.end);
            if (e > s) booked += e - s;
        }
    }
    return working == 0 ? 0 : static_cast<double>(booked) / static_cast<double>(working);
}

}  // namespace crm::fieldservice::domain
