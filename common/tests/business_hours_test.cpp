// Business-hours arithmetic against hand-computed cases: weekends, holidays, both DST changes of 2026 in Berlin, a
// southern-hemisphere zone, pauses and resumes (overlapping, overnight, open), deadlines that fall exactly on an
// interval's end, and the calendar checks.
#include "crm/common/business_hours.hpp"

#include <catch2/catch.hpp>

using namespace crm::common;

namespace {

constexpr std::int64_t kHour = 3600;

std::int64_t Utc(std::int64_t y, unsigned mo, unsigned d, int h, int mi = 0) {
    return DaysFromCivil({y, mo, d}) * 86400 + h * 3600 + mi * 60;
}

// Monday to Friday, 09:00-17:00 in the zone.
BusinessCalendar NineToFive(const char* zone, std::vector<CivilDate> holidays = {}) {
    return BusinessCalendar::Make(TimeZone::Load(zone), WeekdayHours({{9 * 3600, 17 * 3600}}), std::move(holidays));
}

}  // namespace

TEST_CASE("business hours: weekends are skipped") {
    // 2026-03-06 is a Friday; Berlin is on CET (UTC+1) until 2026-03-29.
    const auto cal = NineToFive("Europe/Berlin");
    const std::int64_t friday_16 = Utc(2026, 3, 6, 15);  // 16:00 CET
    const std::int64_t monday_10 = Utc(2026, 3, 9, 9);   // 10:00 CET
    CHECK(AddBusinessSeconds(cal, friday_16, 2 * kHour) == monday_10);
    CHECK(BusinessSecondsBetween(cal, friday_16, monday_10) == 2 * kHour);
    // Exactly the rest of Friday: the deadline is Friday 17:00, not Monday 09:00.
    CHECK(AddBusinessSeconds(cal, friday_16, kHour) == Utc(2026, 3, 6, 16));
    // Starting on Saturday: the clock starts on Monday morning.
    CHECK(AddBusinessSeconds(cal, Utc(2026, 3, 7, 9), kHour) == Utc(2026, 3, 9, 9));
    CHECK(BusinessSecondsBetween(cal, Utc(2026, 3, 7, 0), Utc(2026, 3, 8, 23)) == 0);
    // A whole week: five days of eight hours.
    CHECK(BusinessSecondsBetween(cal, Utc(2026, 3, 2, 0), Utc(2026, 3, 9, 0)) == 40 * kHour);
    CHECK(AddBusinessSeconds(cal, friday_16, 0) == friday_16);
    CHECK(BusinessSecondsBetween(cal, monday_10, friday_16) == 0);  // reversed: nothing
}

TEST_CASE("business hours: holidays have no working time") {
    // Monday 2026-03-09 a holiday: Friday 16:00 + 2 h is Tuesday 10:00.
    const auto cal = NineToFive("Europe/Berlin", {{2026, 3, 9}});
    CHECK(cal.IsHoliday({2026, 3, 9}));
    CHECK(AddBusinessSeconds(cal, Utc(2026, 3, 6, 15), 2 * kHour) == Utc(2026, 3, 10, 9));
    CHECK(BusinessSecondsBetween(cal, Utc(2026, 3, 6, 15), Utc(2026, 3, 10, 9)) == 2 * kHour);
    // A 24-hour target across Christmas: 2026-12-24 (Thursday) 09:00 CET, 25th a holiday, weekend:
    // Thursday 8 h, Monday 28th 8 h, Tuesday 29th 8 h -> Tuesday 17:00 CET.
    const auto xmas = NineToFive("Europe/Berlin", {{2026, 12, 25}});
    CHECK(AddBusinessSeconds(xmas, Utc(2026, 12, 24, 8), 24 * kHour) == Utc(2026, 12, 29, 16));
}

TEST_CASE("business hours: DST changes (Berlin, 2026)") {
    const auto berlin = TimeZone::Load("Europe/Berlin");
    // Spring forward on Sunday 2026-03-29, 02:00 CET -> 03:00 CEST. Friday 27th 16:00 CET + 2 h is Monday 30th
    // 10:00 CEST, i.e. 08:00 UTC (the working day moved one hour earlier in UTC).
    const auto cal = NineToFive("Europe/Berlin");
    CHECK(AddBusinessSeconds(cal, Utc(2026, 3, 27, 15), 2 * kHour) == Utc(2026, 3, 30, 8));
    CHECK(BusinessSecondsBetween(cal, Utc(2026, 3, 27, 15), Utc(2026, 3, 30, 8)) == 2 * kHour);
    // A night shift, Sundays 01:00-04:00: two hours on the spring-forward night, four on the fall-back night
    // (Sunday 2026-10-25, 03:00 CEST -> 02:00 CET), three on an ordinary Sunday.
    WeekHours night;
    night[0] = {{1 * 3600, 4 * 3600}};
    const auto shift = BusinessCalendar::Make(berlin, night);
    CHECK(BusinessSecondsBetween(shift, Utc(2026, 3, 28, 0), Utc(2026, 3, 30, 0)) == 2 * kHour);
    CHECK(BusinessSecondsBetween(shift, Utc(2026, 10, 24, 0), Utc(2026, 10, 26, 0)) == 4 * kHour);
    CHECK(BusinessSecondsBetween(shift, Utc(2026, 3, 21, 0), Utc(2026, 3, 23, 0)) == 3 * kHour);
    // Round the clock, the weekend of the spring change has 47 hours, that of the fall change 49.
    const auto always = BusinessCalendar::Make(berlin, AllDayEveryDay());
    const std::int64_t sat_28_local = Utc(2026, 3, 27, 23);  // Saturday 00:00 CET
    const std::int64_t mon_30_local = Utc(2026, 3, 29, 22);  // Monday 00:00 CEST
    CHECK(BusinessSecondsBetween(always, sat_28_local, mon_30_local) == 47 * kHour);
    CHECK(BusinessSecondsBetween(always, Utc(2026, 10, 23, 22), Utc(2026, 10, 25, 23)) == 49 * kHour);
    CHECK(AddBusinessSeconds(always, sat_28_local, 47 * kHour) == mon_30_local);
}

TEST_CASE("business hours: a southern-hemisphere zone") {
    // Sydney leaves DST on Sunday 2026-04-05 (03:00 AEDT -> 02:00 AEST). Friday 2026-04-03 16:00 AEDT (05:00 UTC)
    // + 2 h is Monday 2026-04-06 10:00 AEST (00:00 UTC).
    const auto cal = NineToFive("Australia/Sydney");
    CHECK(AddBusinessSeconds(cal, Utc(2026, 4, 3, 5), 2 * kHour) == Utc(2026, 4, 6, 0));
}

TEST_CASE("business hours: pauses stop the clock and resumes restart it") {
    const auto cal = NineToFive("UTC");
    const std::int64_t monday_10 = Utc(2026, 3, 2, 10);  // 2026-03-02 is a Monday
    // Paused 11:00-14:00 (pending customer): 4 h of business time end at 17:00.
    const std::vector<TimeSpan> lunch = {{Utc(2026, 3, 2, 11), Utc(2026, 3, 2, 14)}};
    CHECK(AddBusinessSeconds(cal, monday_10, 4 * kHour, lunch) == Utc(2026, 3, 2, 17));
    CHECK(BusinessSecondsBetween(cal, monday_10, Utc(2026, 3, 2, 17), lunch) == 4 * kHour);
    // Paused overnight, Monday 16:00 to Tuesday 10:00: 8 h end on Tuesday at 12:00.
    const std::vector<TimeSpan> overnight = {{Utc(2026, 3, 2, 16), Utc(2026, 3, 3, 10)}};
    CHECK(AddBusinessSeconds(cal, monday_10, 4 * kHour, overnight) == Utc(2026, 3, 2, 14));
    CHECK(AddBusinessSeconds(cal, monday_10, 8 * kHour, overnight) == Utc(2026, 3, 3, 12));
    // Overlapping and unordered pauses count once.
    const std::vector<TimeSpan> messy = {{Utc(2026, 3, 2, 12), Utc(2026, 3, 2, 13)},
                                         {Utc(2026, 3, 2, 11), Utc(2026, 3, 2, 12, 30)},
                                         {Utc(2026, 3, 2, 12, 30), Utc(2026, 3, 2, 14)}};
    CHECK(MergeSpans(messy) == std::vector<TimeSpan>{{Utc(2026, 3, 2, 11), Utc(2026, 3, 2, 14)}});
    CHECK(AddBusinessSeconds(cal, monday_10, 4 * kHour, messy) == Utc(2026, 3, 2, 17));
    // Still paused (open end): the deadline cannot be reached while paused; elapsed time stops at the pause.
    const std::vector<TimeSpan> open = {{Utc(2026, 3, 2, 12), kOpenEnd}};
    CHECK(AddBusinessSeconds(cal, monday_10, 4 * kHour, open) == std::nullopt);
    CHECK(AddBusinessSeconds(cal, monday_10, 2 * kHour, open) == Utc(2026, 3, 2, 12));
    CHECK(BusinessSecondsBetween(cal, monday_10, Utc(2026, 3, 4, 12), open) == 2 * kHour);
    // A pause over a weekend changes nothing (no working time in it).
    const std::vector<TimeSpan> weekend = {{Utc(2026, 3, 7, 0), Utc(2026, 3, 9, 0)}};
    CHECK(AddBusinessSeconds(cal, Utc(2026, 3, 6, 16), 2 * kHour, weekend) == Utc(2026, 3, 9, 10));
}

TEST_CASE("business hours: calendars without working time and calendar checks") {
    const auto empty = BusinessCalendar::Make(TimeZone::Load("UTC"), WeekHours{});
    CHECK_FALSE(empty.HasWorkingTime());
    CHECK(AddBusinessSeconds(empty, 0, 1) == std::nullopt);
    CHECK(BusinessSecondsBetween(empty, 0, 86400 * 30) == 0);
    // Split shifts: 08:00-12:00 and 13:00-17:00.
    const auto split =
        BusinessCalendar::Make(TimeZone::Load("UTC"), WeekdayHours({{8 * 3600, 12 * 3600}, {13 * 3600, 17 * 3600}}));
    CHECK(AddBusinessSeconds(split, Utc(2026, 3, 2, 11), 2 * kHour) == Utc(2026, 3, 2, 14));

    Violations v;
    WeekHours bad;
    bad[1] = {{9 * 3600, 12 * 3600}, {11 * 3600, 13 * 3600}};  // overlapping
    bad[2] = {{10 * 3600, 10 * 3600}};                         // empty
    bad[3] = {{0, 86401}};                                     // past midnight
    CheckCalendar(v, bad, {{2026, 2, 30}, {2026, 1, 1}, {2026, 1, 1}}, "calendar.");
    CHECK(v.Has("calendar.week[1]"));
    CHECK(v.Has("calendar.week[2]"));
    CHECK(v.Has("calendar.week[3]"));
    CHECK(v.Has("calendar.holidays[0]"));  // February 30th
    CHECK(v.Has("calendar.holidays[2]"));  // repeated
    CHECK_FALSE(v.Has("calendar.holidays[1]"));
    CHECK_THROWS_AS(BusinessCalendar::Make(TimeZone::Load("UTC"), bad), std::invalid_argument);
    CHECK_THROWS_AS(BusinessCalendar::Make(nullptr, WeekHours{}), std::invalid_argument);
}
