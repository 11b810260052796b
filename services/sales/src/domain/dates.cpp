#include "domain/dates.hpp"

#include <cstdio>

namespace crm::sales::domain {

// Howard Hinnant's days_from_civil / civil_from_days.
Days DaysFromCivil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<long>(doe) - 719468;
}

void CivilFromDays(Days z, int& year, unsigned& month, unsigned& day) {
    z += 719468;
    const long era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long y = static_cast<long>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = static_cast<int>(y + (month <= 2));
}

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
    if (y < 1900 || m < 1 || m > 12 || d < 1) return std::nullopt;
    const Days days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    int yy;
    unsigned mm, dd;
    CivilFromDays(days, yy, mm, dd);
    if (yy != y || static_cast<int>(mm) != m || static_cast<int>(dd) != d) return std::nullopt;  // e.g. 02-30
    return days;
}

std::string FormatDate(Days days) {
    int y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
    return buf;
}

Period PeriodContaining(PeriodType type, Days day) {
    int y;
    unsigned m, d;
    CivilFromDays(day, y, m, d);
    unsigned first_month = m, months = 1;
    if (type == PeriodType::kQuarter) {
        first_month = (m - 1) / 3 * 3 + 1;
        months = 3;
    }
    const Days first = DaysFromCivil(y, first_month, 1);
    unsigned next_month = first_month + months;
    int next_year = y;
    if (next_month > 12) {
        next_month -= 12;
        ++next_year;
    }
    return Period{type, first, DaysFromCivil(next_year, next_month, 1) - 1};
}

}  // namespace crm::sales::domain
