#pragma once
// Calendar dates ("YYYY-MM-DD", proleptic Gregorian, UTC) and forecast periods (calendar months and quarters).
#include <optional>
#include <string>
#include <string_view>

namespace crm::sales::domain {

// Days since 1970-01-01.
using Days = long;

// Parses a strict "YYYY-MM-DD" (a real day of the month from 1900-01-01 to 2199-12-31, the range the suite accepts
// for every time, see common::CheckTime); nullopt otherwise.
std::optional<Days> ParseDate(std::string_view text);
std::string FormatDate(Days days);

enum class PeriodType { kUnspecified = 0, kMonth = 1, kQuarter = 2 };

struct Period {
    PeriodType type = PeriodType::kUnspecified;
    Days first = 0;  // first day
    Days last = 0;   // last day (inclusive)
};

// The month or quarter that contains `day`.
Period PeriodContaining(PeriodType type, Days day);

}  // namespace crm::sales::domain
