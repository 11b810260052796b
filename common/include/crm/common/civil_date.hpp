#pragma once
// Proleptic Gregorian calendar dates <-> days since 1970-01-01 (UTC), exact for every int64 day count that fits a
// year in int64 (H. Hinnant's days_from_civil / civil_from_days). For forecast periods, KPI buckets, date fields.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// A strict "YYYY-MM-DD": four-digit year, two-digit month and day, naming a real day (no 02-30); nullopt otherwise.
// Nothing else is accepted (no sign, spaces, time or offset). Range rules are the caller's (see InSuiteRange).
std::optional<CivilDate> ParseIsoDate(std::string_view text);

// "YYYY-MM-DD" (years outside 0..9999 are written with more digits or a sign).
std::string FormatIsoDate(const CivilDate& date);

// Within the suite's range for dates and times: 1900-01-01 .. 2199-12-31 (common::CheckTime's range).
bool InSuiteRange(const CivilDate& date);

}  // namespace crm::common
