#include "domain/dates.hpp"

#include <cstdio>

#include "crm/common/civil_date.hpp"

namespace crm::sales::domain {

using common::CivilDate;
using common::CivilFromDays;
using common::DaysFromCivil;

std::optional<Days> ParseDate(std::string_view t) {
    if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
    auto digits = [&](std::size_t from, std::size_t count) -> int {
        int value = 0;
        for (std::size_t i = from; i < from + count; ++i) {
            if (t[i] < '0' || t[i] > '9') return -1;
            value = value * 10 + (t[i] - '0');
        }
        return value;
    };
    const int y = digits(0, 4), m = digits(5, 2), d = digits(8, 2);
    if (y < 1900 || y >= 2200 || m < 1 || m > 12 || d < 1) return std::nullopt;  // the suite's range
    const CivilDate date{y, static_cast<unsigned>(m), static_cast<unsigned>(d)};
    const Days days = DaysFromCivil(date);
    if (CivilFromDays(days) != date) return std::nullopt;  // e.g. 02-30
    return days;
}

std::string FormatDate(Days days) {
    const CivilDate date = CivilFromDays(days);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(date.year), date.month, date.day);
    return buf;
}

Period PeriodContaining(PeriodType type, Days day) {
    const CivilDate date = CivilFromDays(day);
    unsigned first_month = date.month, months = 1;
    if (type == PeriodType::kQuarter) {
        first_month = (date.month - 1) / 3 * 3 + 1;
        months = 3;
    }
    const Days first = DaysFromCivil({date.year, first_month, 1});
    unsigned next_month = first_month + months;
    int64_t next_year = date.year;
    if (next_month > 12) {
        next_month -= 12;
        ++next_year;
    }
    return Period{type, first, DaysFromCivil({next_year, next_month, 1}) - 1};
}

}  // namespace crm::sales::domain
