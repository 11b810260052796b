#include "domain/dates.hpp"

#include <cstdio>

#include "crm/common/civil_date.hpp"

namespace crm::sales::domain {

using common::CivilDate;
using common::CivilFromDays;
using common::DaysFromCivil;

std::optional<Days> ParseDate(std::string_view t) {
    const auto date = common::ParseIsoDate(t);
    if (!date || !common::InSuiteRange(*date)) return std::nullopt;
    return DaysFromCivil(*date);
}

std::string FormatDate(Days days) { return common::FormatIsoDate(CivilFromDays(days)); }

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
