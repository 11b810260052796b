#include "crm/common/civil_date.hpp"

#include <catch2/catch.hpp>

using crm::common::CivilDate;
using crm::common::CivilFromDays;
using crm::common::DaysFromCivil;

TEST_CASE("civil dates: known days since the epoch") {
    CHECK(DaysFromCivil({1970, 1, 1}) == 0);
    CHECK(DaysFromCivil({1969, 12, 31}) == -1);
    CHECK(DaysFromCivil({2000, 3, 1}) == 11017);
    CHECK(DaysFromCivil({2026, 12, 1}) == 20788);
    CHECK(CivilFromDays(0) == CivilDate{1970, 1, 1});
    CHECK(CivilFromDays(11016) == CivilDate{2000, 2, 29});  // a leap day of a century divisible by 400
    CHECK(CivilFromDays(DaysFromCivil({1900, 3, 1}) - 1) == CivilDate{1900, 2, 28});  // 1900 had none
    CHECK(CivilFromDays(-719468) == CivilDate{0, 3, 1});
}

TEST_CASE("civil dates: every day from 1600 to 2400 round-trips and follows the one before") {
    const int64_t first = DaysFromCivil({1600, 1, 1}), last = DaysFromCivil({2400, 12, 31});
    CivilDate previous = CivilFromDays(first - 1);
    for (int64_t day = first; day <= last; ++day) {
        const CivilDate date = CivilFromDays(day);
        REQUIRE(DaysFromCivil(date) == day);
        const bool next_day =
            date.year == previous.year && date.month == previous.month && date.day == previous.day + 1;
        const bool next_month = date.year == previous.year && date.month == previous.month + 1 && date.day == 1;
        const bool next_year =
            date.year == previous.year + 1 && date.month == 1 && previous.month == 12 && date.day == 1;
        REQUIRE((next_day || next_month || next_year));
        previous = date;
    }
}

TEST_CASE("civil dates: ParseIsoDate takes exactly YYYY-MM-DD naming a real day") {
    using crm::common::ParseIsoDate;
    CHECK(ParseIsoDate("2024-02-29") == CivilDate{2024, 2, 29});
    CHECK(ParseIsoDate("2000-02-29") == CivilDate{2000, 2, 29});
    CHECK(ParseIsoDate("0001-01-01") == CivilDate{1, 1, 1});
    CHECK(ParseIsoDate("9999-12-31") == CivilDate{9999, 12, 31});
    for (const char* bad : {"2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00",
                            "2024-1-01", "24-01-01", "2024/01/01", " 2024-01-01", "2024-01-01 ", "2024-01-01T00:00",
                            "+024-01-01", "2024-0a-01", "", "2024-01-32"}) {
        INFO(bad);
        CHECK_FALSE(ParseIsoDate(bad).has_value());
    }
    CHECK_FALSE(ParseIsoDate(std::string_view("2024-01-0\0", 10)).has_value());
}

TEST_CASE("civil dates: FormatIsoDate round-trips every day of the suite's range") {
    using namespace crm::common;
    const int64_t first = DaysFromCivil({1900, 1, 1}), last = DaysFromCivil({2199, 12, 31});
    for (int64_t day = first; day <= last; ++day) {
        const CivilDate date = CivilFromDays(day);
        REQUIRE(InSuiteRange(date));
        REQUIRE(ParseIsoDate(FormatIsoDate(date)) == date);
    }
    CHECK_FALSE(InSuiteRange(CivilFromDays(first - 1)));
    CHECK_FALSE(InSuiteRange(CivilFromDays(last + 1)));
}
