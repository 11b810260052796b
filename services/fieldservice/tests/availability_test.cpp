#include "domain/availability.hpp"

#include <catch2/catch.hpp>

#include "domain/checks.hpp"

using namespace crm::fieldservice::domain;
using crm::common::CivilDate;
using crm::common::DaysFromCivil;
using crm::common::TimeZone;

namespace {

std::int64_t Utc(int y, unsigned m, unsigned d, int hh, int mm = 0) {
    return DaysFromCivil(CivilDate{y, m, d}) * 86400 + hh * 3600 + mm * 60;
}

// Monday to Friday 08:00-17:00 in Berlin.
Calendar Berlin() {
    Calendar c;
    c.zone = TimeZone::Load("Europe/Berlin");
    for (int d = 1; d <= 5; ++d) c.hours.push_back({d, 8 * 60, 17 * 60});
    c.home = {52.52, 13.405};
    return c;
}

const HaversineTravel kTravel(60);

}  // namespace

TEST_CASE("working hours follow the technician's DST change") {
    const Calendar c = Berlin();
    // Friday 2026-03-27 (CET, UTC+1) and Monday 2026-03-30 (CEST, UTC+2, after the change of Sunday 29 March).
    const auto hours = WorkingIntervals(*c.zone, c.hours, Utc(2026, 3, 27, 0), Utc(2026, 3, 31, 0));
    REQUIRE(hours.size() >= 2);
    CHECK(std::find(hours.begin(), hours.end(), Interval{Utc(2026, 3, 27, 7), Utc(2026, 3, 27, 16)}) != hours.end());
    CHECK(std::find(hours.begin(), hours.end(), Interval{Utc(2026, 3, 30, 6), Utc(2026, 3, 30, 15)}) != hours.end());
    // Nothing on the weekend.
    for (const auto& i : hours) {
        CHECK_FALSE((i.start >= Utc(2026, 3, 28, 0) && i.start < Utc(2026, 3, 30, 0)));
    }
}

TEST_CASE("the earliest slot starts after travel from home, inside the window and the working day") {
    const Calendar c = Berlin();
    Visit v;
    v.site = {52.52, 13.405 + 0.1};  // ~6.8 km east: 7 minutes at 60 km/h
    v.duration_seconds = 3600;
    v.windows = {{Utc(2026, 3, 30, 0), Utc(2026, 3, 31, 0)}};
    const auto slot = EarliestSlot(c, v, kTravel);
    REQUIRE(slot);
    CHECK(slot->travel_minutes == 7);
    CHECK(slot->start == Utc(2026, 3, 30, 6, 7));  // 08:00 CEST + 7 minutes
    CHECK(slot->end == slot->start + 3600);
    CHECK(slot->distance_meters == Approx(6770).epsilon(0.01));
}

TEST_CASE("booked visits, their travel and time off are avoided - travel comes from the previous stop") {
    Calendar c = Berlin();
    const Point elsewhere{52.52 + 0.09, 13.405};  // ~10 km north of home
    // 08:00-12:00 local booked at `elsewhere` (block from 07:50 local would start before work: booked as given).
    c.booked.push_back({Utc(2026, 3, 30, 6), Utc(2026, 3, 30, 6), Utc(2026, 3, 30, 10), elsewhere});
    c.time_off.push_back({Utc(2026, 3, 30, 10), Utc(2026, 3, 30, 11)});  // 12:00-13:00 local
    Visit v;
    v.site = c.home;
    v.duration_seconds = 3600;
    v.windows = {{Utc(2026, 3, 30, 0), Utc(2026, 3, 31, 0)}};
    const auto slot = EarliestSlot(c, v, kTravel);
    REQUIRE(slot);
    // Free from 13:00 local (11:00Z); previous stop `elsewhere`, 10 km: 11 minutes.
    CHECK(slot->travel_minutes == 11);
    CHECK(slot->start == Utc(2026, 3, 30, 11, 11));
    // A start the dispatcher picks inside the booked visit or the time off is refused; after them it is accepted.
    CHECK_FALSE(SlotAt(c, v, kTravel, Utc(2026, 3, 30, 9)));
    CHECK_FALSE(SlotAt(c, v, kTravel, Utc(2026, 3, 30, 10, 30)));
    CHECK_FALSE(SlotAt(c, v, kTravel, Utc(2026, 3, 30, 11, 5)));  // travel would start inside the time off
    const auto picked = SlotAt(c, v, kTravel, Utc(2026, 3, 30, 12));
    REQUIRE(picked);
    CHECK(picked->travel_minutes == 11);
    // The visit must end inside the working day (17:00 local = 15:00Z).
    CHECK_FALSE(SlotAt(c, v, kTravel, Utc(2026, 3, 30, 14, 30)));
    CHECK(Utilisation(c, v.windows) == Approx(4.0 / 9.0));
}

TEST_CASE("windows: the visit lies inside one - none fits, no slot") {
    const Calendar c = Berlin();
    Visit v;
    v.site = c.home;
    v.duration_seconds = 2 * 3600;
    // Saturday only: no working hours.
    v.windows = {{Utc(2026, 3, 28, 0), Utc(2026, 3, 29, 0)}};
    CHECK_FALSE(EarliestSlot(c, v, kTravel));
    // A window too short for the visit.
    v.windows = {{Utc(2026, 3, 30, 9), Utc(2026, 3, 30, 10)}};
    CHECK_FALSE(EarliestSlot(c, v, kTravel));
    // Two windows: the later one is the first that fits.
    v.windows = {{Utc(2026, 3, 31, 12), Utc(2026, 3, 31, 15)}, {Utc(2026, 3, 30, 9), Utc(2026, 3, 30, 10)}};
    const auto slot = EarliestSlot(c, v, kTravel);
    REQUIRE(slot);
    CHECK(slot->start == Utc(2026, 3, 31, 12));
    // not_before moves the start.
    v.not_before = Utc(2026, 3, 31, 12, 30);
    CHECK(EarliestSlot(c, v, kTravel)->start == Utc(2026, 3, 31, 12, 30));
}

TEST_CASE("window checks: order, range and length") {
    crm::common::Violations v;
    CHECK(CheckWindow(v, {true, 100, 0}, {true, 200, 0}, "w"));
    CHECK_FALSE(CheckWindow(v, {true, 200, 0}, {true, 100, 0}, "a"));
    CHECK(v.Has("a.end_time"));
    CHECK_FALSE(CheckWindow(v, {false, 0, 0}, {true, 100, 0}, "b"));
    CHECK(v.Has("b.start_time"));
    CHECK_FALSE(CheckWindow(v, {true, 0, 0}, {true, 63 * 86400, 0}, "c"));
    CHECK(v.Has("c.end_time"));
    CHECK_FALSE(CheckWindow(v, {true, 0, 0}, {true, 9000000000, 0}, "d"));
    CHECK(v.Has("d.end_time"));
    crm::common::Violations d;
    CHECK(CheckDate(d, "2027-03-29", "date") == CivilDate{2027, 3, 29});
    CHECK_FALSE(CheckDate(d, "2027-02-29", "a"));  // not a leap year
    CHECK_FALSE(CheckDate(d, "2199-12-32", "b"));
    CHECK_FALSE(CheckDate(d, "1899-12-31", "c"));
    CHECK_FALSE(CheckDate(d, "2027-3-29", "e"));
    CHECK(d.Has("a"));
    CHECK(d.Has("e"));
    crm::common::Violations h;
    CheckWorkingHours(h, {7, 600, 500}, "wh");
    CHECK(h.Has("wh.weekday"));
    CHECK(h.Has("wh.end_minute"));
}
