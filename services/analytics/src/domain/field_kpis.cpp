#include "domain/field_kpis.hpp"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "crm/common/timezone.hpp"

namespace crm::analytics::domain {

namespace {

constexpr Micros kMicrosPerSecondValue = 1000000;
constexpr int64_t kSecondsPerDay = 86400;

std::shared_ptr<const common::TimeZone> ZoneOrUtc(const std::string& name) {
    try {
        if (!name.empty()) return common::TimeZone::Load(name);
    } catch (const std::invalid_argument&) {
        // an unknown zone: UTC below
    }
    return common::TimeZone::Load("UTC");
}

// Floor division for possibly negative times.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void AddCompletion(FieldKpiSet& s, const WorkCompletion& c) {
    ++s.first_time_fix.denominator;
    if (c.first_time_fix) ++s.first_time_fix.numerator;
    ++s.time_to_complete.count;
    s.time_to_complete.total_micros += std::max<Micros>(0, c.completed_at - c.created_at);
    ++s.on_site.count;
    s.on_site.total_micros += c.on_site_micros;
    ++s.travel.count;
    s.travel.total_micros += c.travel_micros;
    if (c.has_windows) {
        ++s.window_kept.denominator;
        if (c.window_kept) ++s.window_kept.numerator;
    }
    s.worked_micros += c.travel_micros + c.on_site_micros;
}

}  // namespace

Micros AvailableMicros(const TechnicianVersion& t, Micros from, Micros to) {
    if (to <= from || t.working_hours.empty()) return 0;
    const auto zone = ZoneOrUtc(t.time_zone);
    // Local days that can overlap [from, to): one day of margin on each side for the offset.
    const int64_t first_day = FloorDiv(zone->ToLocal(FloorDiv(from, kMicrosPerSecondValue)), kSecondsPerDay) - 1;
    const int64_t last_day = FloorDiv(zone->ToLocal(FloorDiv(to, kMicrosPerSecondValue)), kSecondsPerDay) + 1;
    std::vector<std::pair<Micros, Micros>> off;
    for (const auto& o : t.time_off) {
        if (o.end > o.start) off.emplace_back(o.start, o.end);
    }
    std::sort(off.begin(), off.end());
    Micros total = 0;
    for (int64_t day = first_day; day <= last_day; ++day) {
        const common::CivilDate date = common::CivilFromDays(day);
        const unsigned weekday = common::Weekday(date);
        for (const auto& h : t.working_hours) {
            if (h.weekday != static_cast<int>(weekday) || h.end_minute <= h.start_minute) continue;
            Micros a = zone->ToUtc(date, h.start_minute * 60) * kMicrosPerSecondValue;
            Micros b = zone->ToUtc(date, h.end_minute * 60) * kMicrosPerSecondValue;
            a = std::max(a, from);
            b = std::min(b, to);
            if (b <= a) continue;
            // Less the time off inside [a, b) (overlapping time off counted once).
            Micros covered = 0, cursor = a;
            for (const auto& [s, e] : off) {
                const Micros lo = std::max(s, cursor), hi = std::min(e, b);
                if (hi > lo) {
                    covered += hi - lo;
                    cursor = hi;
                }
            }
            total += (b - a) - covered;
        }
    }
    return total;
}

FieldKpiReport ComputeFieldKpis(const std::vector<WorkCompletion>& completions,
                                const std::vector<TechnicianVersion>& technicians, const FieldQuery& q) {
    // Each technician's state before the end: the greatest (version, event id) with occurred_at < end.
    std::map<std::string, const TechnicianVersion*> tech;
    for (const auto& t : technicians) {
        if (t.occurred_at >= q.end) continue;
        auto& slot = tech[t.technician_id];
        if (!slot || std::tie(t.version, t.event_id) > std::tie(slot->version, slot->event_id)) slot = &t;
    }
    auto territory_of = [&](const std::string& id) -> std::string {
        const auto it = tech.find(id);
        return it == tech.end() ? std::string() : it->second->territory;
    };
    auto passes = [&](const std::string& id, const std::string& territory) {
        return (q.technician_id.empty() || id == q.technician_id) && (q.territory.empty() || territory == q.territory);
    };

    FieldKpiReport out;
    // One completion per work order (its greatest version, then event id).
    std::map<std::string, const WorkCompletion*> done;
    for (const auto& c : completions) {
        auto& slot = done[c.work_order_id];
        if (!slot || std::tie(c.version, c.event_id) > std::tie(slot->version, slot->event_id)) slot = &c;
    }
    for (const auto& [id, c] : done) {
        if (c->completed_at < q.start || c->completed_at >= q.end) continue;
        const std::string territory = territory_of(c->technician_id);
        if (!passes(c->technician_id, territory)) continue;
        AddCompletion(out.total, *c);
        AddCompletion(out.technicians[c->technician_id], *c);
        AddCompletion(out.territories[territory], *c);
    }
    for (const auto& [id, t] : tech) {
        if (!t->active || !passes(id, t->territory)) continue;
        const Micros available = AvailableMicros(*t, q.start, q.end);
        out.total.available_micros += available;
        out.technicians[id].available_micros += available;
        out.territories[t->territory].available_micros += available;
    }
    return out;
}

}  // namespace crm::analytics::domain
