#include "crm/common/timezone.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <string>

using crm::common::CivilDate;
using crm::common::DaysFromCivil;
using crm::common::IsTimeZoneName;
using crm::common::TimeZone;
using crm::common::Weekday;

namespace {
int64_t Utc(int64_t y, unsigned mo, unsigned d, int h, int mi = 0, int s = 0) {
    return DaysFromCivil({y, mo, d}) * 86400 + h * 3600 + mi * 60 + s;
}
// glibc's answer for the same zone (it reads the same TZif files): the oracle for the sweep below.
long GlibcOffset(const std::string& zone, int64_t utc) {
    setenv("TZ", zone.c_str(), 1);
    tzset();
    const time_t t = static_cast<time_t>(utc);
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}
}  // namespace

TEST_CASE("time zones: offsets on either side of hand-checked transitions") {
    const auto berlin = TimeZone::Load("Europe/Berlin");
    CHECK(berlin->OffsetAt(Utc(2026, 3, 29, 0, 59, 59)) == 3600);
    CHECK(berlin->OffsetAt(Utc(2026, 3, 29, 1)) == 7200);
    CHECK(berlin->IsDstAt(Utc(2026, 7, 1, 12)));
    CHECK(berlin->OffsetAt(Utc(2026, 10, 25, 0, 59, 59)) == 7200);
    CHECK(berlin->OffsetAt(Utc(2026, 10, 25, 1)) == 3600);
    // 2040 lies past the file's transitions in slim builds: the footer rule (last Sunday of March, 01:00 UTC).
    CHECK(berlin->OffsetAt(Utc(2040, 3, 25, 0, 59, 59)) == 3600);
    CHECK(berlin->OffsetAt(Utc(2040, 3, 25, 1)) == 7200);

    const auto sydney = TimeZone::Load("Australia/Sydney");  // southern: DST spans New Year
    CHECK(sydney->OffsetAt(Utc(2026, 1, 15, 0)) == 39600);
    CHECK(sydney->OffsetAt(Utc(2026, 4, 4, 15, 59, 59)) == 39600);
    CHECK(sydney->OffsetAt(Utc(2026, 4, 4, 16)) == 36000);
    CHECK(sydney->OffsetAt(Utc(2026, 10, 3, 15, 59, 59)) == 36000);
    CHECK(sydney->OffsetAt(Utc(2026, 10, 3, 16)) == 39600);
    CHECK(sydney->OffsetAt(Utc(2045, 12, 31, 23)) == 39600);

    CHECK(TimeZone::Load("Asia/Kolkata")->OffsetAt(Utc(2026, 6, 1, 0)) == 19800);
    CHECK(TimeZone::Load("UTC")->OffsetAt(Utc(2026, 6, 1, 0)) == 0);
}

TEST_CASE("time zones: every 6 hours from 1970 to 2100 agree with glibc for zones of both hemispheres") {
    for (const std::string zone : {"Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo",
                                   "Asia/Tehran", "Pacific/Chatham", "Europe/Dublin", "America/Santiago"}) {
        const auto tz = TimeZone::Load(zone);
        int mismatches = 0;
        for (int64_t t = Utc(1970, 1, 1, 0); t < Utc(2100, 1, 1, 0); t += 6 * 3600 + 17) {
            if (tz->OffsetAt(t) != GlibcOffset(zone, t) && ++mismatches <= 3) {
                FAIL_CHECK(zone << " at " << t << ": " << tz->OffsetAt(t) << " vs glibc " << GlibcOffset(zone, t));
            }
        }
        CHECK(mismatches == 0);
    }
    unsetenv("TZ");
    tzset();
}

TEST_CASE("time zones: wall-clock times to instants, across the gap and the repeated hour") {
    const auto ny = TimeZone::Load("America/New_York");
    // An ordinary wall time.
    CHECK(ny->ToUtc(CivilDate{2026, 7, 4}, 9 * 3600) == Utc(2026, 7, 4, 13));
    CHECK(ny->ToUtc(CivilDate{2026, 1, 5}, 9 * 3600) == Utc(2026, 1, 5, 14));
    // 2026-03-08 02:30 does not exist (02:00 EST -> 03:00 EDT): moved forward by the hour, 03:30 EDT.
    CHECK(ny->ToUtc(CivilDate{2026, 3, 8}, 2 * 3600 + 1800) == Utc(2026, 3, 8, 7, 30));
    CHECK(ny->ToUtc(CivilDate{2026, 3, 8}, 3 * 3600) == Utc(2026, 3, 8, 7));
    // 2026-11-01 01:30 happens twice: the earlier (EDT) instant.
    CHECK(ny->ToUtc(CivilDate{2026, 11, 1}, 3600 + 1800) == Utc(2026, 11, 1, 5, 30));
    CHECK(ny->ToUtc(CivilDate{2026, 11, 1}, 2 * 3600) == Utc(2026, 11, 1, 7));
    // Round trip for every hour of 2026 in Berlin, where no wall time is missed or doubled outside the two nights.
    const auto berlin = TimeZone::Load("Europe/Berlin");
    for (int64_t t = Utc(2026, 1, 1, 0); t < Utc(2027, 1, 1, 0); t += 3600) {
        const int64_t local = berlin->ToLocal(t);
        if (berlin->ToUtc(local) != t) {
            // Only the second pass through the repeated hour maps back to the first.
            CHECK(berlin->ToUtc(local) == t - 3600);
        }
    }
}

TEST_CASE("time zones: names are checked before any file is opened") {
    CHECK(IsTimeZoneName("Europe/Berlin"));
    CHECK(IsTimeZoneName("America/Argentina/Buenos_Aires"));
    CHECK(IsTimeZoneName("Etc/GMT+5"));
    CHECK_FALSE(IsTimeZoneName(""));
    CHECK_FALSE(IsTimeZoneName("../etc/passwd"));
    CHECK_FALSE(IsTimeZoneName("Europe/../../etc/passwd"));
    CHECK_FALSE(IsTimeZoneName("/etc/passwd"));
    CHECK_FALSE(IsTimeZoneName("Europe/Berlin/"));
    CHECK_FALSE(IsTimeZoneName(std::string("Europe/Ber\0lin", 14)));
    CHECK_FALSE(IsTimeZoneName("Europe/Ber lin"));
    CHECK_FALSE(IsTimeZoneName(std::string(65, 'A')));
    CHECK_THROWS_AS(TimeZone::Load("Mars/Olympus_Mons"), std::invalid_argument);
    CHECK_THROWS_AS(TimeZone::Load("../../etc/passwd"), std::invalid_argument);
}

TEST_CASE("time zones: malformed TZif data is refused, never read past its end") {
    CHECK_THROWS_AS(TimeZone::FromTzif("x", ""), std::invalid_argument);
    CHECK_THROWS_AS(TimeZone::FromTzif("x", "TZif2"), std::invalid_argument);
    CHECK_THROWS_AS(TimeZone::FromTzif("x", std::string(44, '\0')), std::invalid_argument);
    // A real file cut anywhere is refused.
    std::string bytes;
    {
        FILE* f = std::fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
        REQUIRE(f != nullptr);
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.append(buf, n);
        std::fclose(f);
    }
    REQUIRE(TimeZone::FromTzif("Europe/Berlin", bytes)->OffsetAt(Utc(2026, 7, 1, 0)) == 7200);
    for (size_t cut = 0; cut + 1 < bytes.size(); cut += 7) {
        CHECK_THROWS_AS(TimeZone::FromTzif("x", bytes.substr(0, cut)), std::invalid_argument);
    }
}

TEST_CASE("weekdays") {
    CHECK(Weekday({1970, 1, 1}) == 4);
    CHECK(Weekday({2026, 12, 3}) == 4);
    CHECK(Weekday({2040, 3, 25}) == 0);
    CHECK(Weekday({1969, 12, 28}) == 0);
    CHECK(Weekday({1900, 1, 1}) == 1);
}
