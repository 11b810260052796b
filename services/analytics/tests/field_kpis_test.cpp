// Field-service KPIs (domain/field_kpis.hpp) against figures worked out by hand: first-time fix, time to complete,
// travel and on-site time, windows kept, and utilisation from working hours in the technicians' time zones (DST
// included) less time off; order and duplicates do not matter; filters.
#include "domain/field_kpis.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace crm::analytics::domain;

namespace {

constexpr Micros kHour = 3600LL * 1000000;
constexpr Micros kT0 = 1772409600LL * 1000000;  // 2026-03-02 00:00 UTC, a Monday
Micros H(double hours) { return kT0 + static_cast<Micros>(hours * kHour); }

TechnicianVersion Tech(const std::string& id, int64_t version, Micros at, const std::string& territory,
                       const std::string& zone, std::vector<WorkingHours> hours, bool active = true) {
    TechnicianVersion t;
    t.technician_id = id;
    t.version = version;
    t.event_id = id + "-" + std::to_string(version);
    t.occurred_at = at;
    t.territory = territory;
    t.time_zone = zone;
    t.active = active;
    t.working_hours = std::move(hours);
    return t;
}

WorkCompletion Done(const std::string& id, const std::string& tech, Micros created, Micros completed, Micros travel,
                    Micros on_site, bool ftf, bool windows, bool kept) {
    WorkCompletion c;
    c.work_order_id = id;
    c.version = 7;
    c.event_id = id + "-done";
    c.created_at = created;
    c.completed_at = completed;
    c.technician_id = tech;
    c.travel_micros = travel;
    c.on_site_micros = on_site;
    c.first_time_fix = ftf;
    c.has_windows = windows;
    c.window_kept = kept;
    return c;
}

struct Scenario {
    std::vector<TechnicianVersion> techs;
    std::vector<WorkCompletion> done;
    Scenario() {
        std::vector<WorkingHours> weekdays;
        for (int d = 1; d <= 5; ++d) weekdays.push_back({d, 8 * 60, 16 * 60});
        // t1: Berlin (UTC+1 in March before the 29th), Monday to Friday 08:00-16:00, Wednesday morning off.
        TechnicianVersion t1 = Tech("t1", 1, H(-100), "north", "Europe/Berlin", weekdays);
        t1.time_off.push_back({H(48 + 7), H(48 + 11)});  // Wed 08:00-12:00 Berlin
        techs.push_back(t1);
        // t2: UTC, Mondays 09:00-17:00, in "south" until after the week.
        techs.push_back(Tech("t2", 1, H(-100), "south", "UTC", {{1, 9 * 60, 17 * 60}}));
        techs.push_back(Tech("t2", 2, H(200), "north", "UTC", {{1, 9 * 60, 17 * 60}}));
        // t3: inactive.
        techs.push_back(Tech("t3", 1, H(-100), "north", "UTC", weekdays, false));

        done.push_back(Done("w1", "t1", H(0), H(11), 1 * kHour, 2 * kHour, true, true, true));
        done.push_back(Done("w2", "t1", H(-24), H(33), 2 * kHour, 1 * kHour, false, true, false));
        done.push_back(Done("w3", "t2", H(24), H(40), kHour / 2, 3 * kHour / 2, true, false, false));
        done.push_back(Done("w4", "t2", H(24), H(200), kHour, kHour, true, false, false));  // after the week
    }
};

const FieldQuery kWeek{H(0), H(168), "", ""};

}  // namespace

TEST_CASE("field KPIs: a week worked out by hand", "[field_kpis]") {
    const Scenario s;
    const FieldKpiReport r = ComputeFieldKpis(s.done, s.techs, kWeek);
    const FieldKpiSet& t = r.total;
    CHECK(t.first_time_fix == Counts{2, 3});
    CHECK(t.time_to_complete.count == 3);
    CHECK(t.time_to_complete.TotalSeconds() == 84 * 3600);  // 11 + 57 + 16 h
    CHECK(t.time_to_complete.AverageSeconds() == 28 * 3600);
    CHECK(t.on_site.total_micros == 9 * kHour / 2);  // 2 + 1 + 1.5 h
    CHECK(t.travel.total_micros == 7 * kHour / 2);   // 1 + 2 + 0.5 h
    CHECK(t.window_kept == Counts{1, 2});            // w3 had no window
    CHECK(t.worked_micros == 8 * kHour);
    // t1: 5 x 8 h less 4 h off; t2: one Monday of 8 h; t3 inactive.
    CHECK(t.available_micros == 44 * kHour);

    REQUIRE(r.technicians.size() == 2);
    CHECK(r.technicians.at("t1").first_time_fix == Counts{1, 2});
    CHECK(r.technicians.at("t1").worked_micros == 6 * kHour);
    CHECK(r.technicians.at("t1").available_micros == 36 * kHour);
    CHECK(r.technicians.at("t2").worked_micros == 2 * kHour);
    CHECK(r.technicians.at("t2").available_micros == 8 * kHour);
    // t2's move to "north" came after the week.
    REQUIRE(r.territories.size() == 2);
    CHECK(r.territories.at("north") == r.technicians.at("t1"));
    CHECK(r.territories.at("south") == r.technicians.at("t2"));
}

TEST_CASE("field KPIs: filters by technician and territory", "[field_kpis]") {
    const Scenario s;
    const FieldKpiReport all = ComputeFieldKpis(s.done, s.techs, kWeek);
    FieldQuery q = kWeek;
    q.territory = "north";
    CHECK(ComputeFieldKpis(s.done, s.techs, q).total == all.technicians.at("t1"));
    q.territory.clear();
    q.technician_id = "t2";
    const FieldKpiReport t2 = ComputeFieldKpis(s.done, s.techs, q);
    CHECK(t2.total == all.technicians.at("t2"));
    CHECK(t2.territories.size() == 1);
    // After the move, t2's completions count for "north".
    q = {H(0), H(240), "", "north"};
    const FieldKpiReport later = ComputeFieldKpis(s.done, s.techs, q);
    CHECK(later.technicians.count("t2") == 1);
    CHECK(later.technicians.at("t2").first_time_fix == Counts{2, 2});  // w3 and w4
}

TEST_CASE("field KPIs: arrival order and duplicates do not matter", "[field_kpis]") {
    const Scenario s;
    const FieldKpiReport expected = ComputeFieldKpis(s.done, s.techs, kWeek);
    std::mt19937 rng(11);
    for (int round = 0; round < 30; ++round) {
        auto done = s.done;
        auto techs = s.techs;
        done.push_back(done[rng() % done.size()]);
        techs.push_back(techs[rng() % techs.size()]);
        std::shuffle(done.begin(), done.end(), rng);
        std::shuffle(techs.begin(), techs.end(), rng);
        REQUIRE(ComputeFieldKpis(done, techs, kWeek) == expected);
    }
}

TEST_CASE("field KPIs: working hours follow the time zone across a DST change", "[field_kpis]") {
    // Sunday 2026-03-29: Berlin springs forward at 02:00, so a whole-day shift is 23 hours; the week after is in
    // UTC+2, so 08:00-16:00 Monday is 06:00-14:00 UTC.
    const TechnicianVersion t = Tech("t", 1, 0, "", "Europe/Berlin", {{0, 0, 1440}, {1, 8 * 60, 16 * 60}});
    const Micros sunday = kT0 + 27LL * 24 * kHour - kHour;  // 2026-03-28 23:00 UTC = Sunday 00:00 CET
    CHECK(AvailableMicros(t, sunday, sunday + 23 * kHour) == 23 * kHour);
    CHECK(AvailableMicros(t, sunday, sunday + 48 * kHour) == 23 * kHour + 8 * kHour);
    const Micros monday = kT0 + 28LL * 24 * kHour;                               // 2026-03-30 00:00 UTC
    CHECK(AvailableMicros(t, monday + 6 * kHour, monday + 7 * kHour) == kHour);  // 08:00-09:00 CEST
    CHECK(AvailableMicros(t, monday, monday + 6 * kHour) == 0);
    // Overlapping time off counts once; an unknown zone counts as UTC.
    TechnicianVersion off = Tech("o", 1, 0, "", "Nowhere/Atlantis", {{1, 0, 1440}});
    off.time_off = {{kT0 + kHour, kT0 + 3 * kHour}, {kT0 + 2 * kHour, kT0 + 4 * kHour}};
    CHECK(AvailableMicros(off, kT0, kT0 + 24 * kHour) == 21 * kHour);
}
