#pragma once
// Proleptic Gregorian calendar dates <-> days since 1970-01-01 (UTC), exact for every int64 day count that fits a
// year in int64 (H. Hinnant's days_from_civil / civil_from_days). For forecast periods, KPI buckets, date fields.
#include <cstdint>

namespace crm::common {

struct CivilDate {
    int64_t year = 1970;
    unsigned month = 1;  // 1..12
    unsigned day = 1;    // 1..31
    bool operator==(const CivilDate&) const = default;
};

// Days since 1970-01-01 of a date (month 1..12, day 1..31; a day past the month's end counts on into the next).
int64_t DaysFromCivil(const CivilDate& date);

// The date `days` after 1970-01-01 (negative: before).
CivilDate CivilFromDays(int64_t days);

}  // namespace crm::common
