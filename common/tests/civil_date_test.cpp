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
