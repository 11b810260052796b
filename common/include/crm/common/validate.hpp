#pragma once
// Validation of the values every API takes, written once for every service and the gateway. Pure (no gRPC, no
// protobuf, no database): domain/ code uses it too. Each check adds field violations to a Violations list instead of
// throwing, so a request with several problems gets all of them in one INVALID_ARGUMENT answer; nothing is silently
// trimmed, cut or altered by a check.
//
//   common::Violations v;
//   common::CheckText(v, req.lead().given_name(), "lead.given_name", {.max_chars = 100});
//   common::CheckText(v, req.lead().notes(), "lead.notes", common::kNotes);
//   common::CheckCurrency(v, req.amount().currency_code(), "opportunity.amount.currency_code");
//   v.ThrowIfAny();
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crm/common/violations.hpp"

namespace crm::common {

// ---- text -----------------------------------------------------------------------------------------------------------

struct TextRule {
    std::size_t max_chars = 200;  // in code points
    bool required = false;        // empty (or only whitespace) is a violation
    bool multiline = false;       // tab, LF and CR allowed (notes, descriptions, message bodies)
};

// Common rules: a short name or label, a title, free text with line breaks.
inline constexpr TextRule kName{.max_chars = 200};
inline constexpr TextRule kRequiredName{.max_chars = 200, .required = true};
inline constexpr TextRule kTitle{.max_chars = 500};
inline constexpr TextRule kNotes{.max_chars = 10000, .multiline = true};

// Refuses, naming `field`: invalid UTF-8, any control character (NUL, other C0, DEL, C1; tab/LF/CR only when
// multiline), more than max_chars code points, and an empty value when required. Returns true when the value passed.
bool CheckText(Violations& violations, std::string_view value, std::string_view field, TextRule rule);

// An opaque identifier from another system or service (external ids, campaign ids, SKUs): 1..max_chars printable
// characters, no whitespace at either end and no control characters. Empty passes unless required.
bool CheckToken(Violations& violations, std::string_view value, std::string_view field, std::size_t max_chars,
                bool required = false);

// A list's size (tags, ids, lines): at most max_items entries.
bool CheckListSize(Violations& violations, std::size_t size, std::string_view field, std::size_t max_items);

// ---- time -----------------------------------------------------------------------------------------------------------

// The one range of instants the suite accepts from clients, for every timestamp field of every API:
// [1900-01-01T00:00:00Z, 2200-01-01T00:00:00Z). Wide enough for birthdays and long contracts, narrow enough that
// date arithmetic (durations, business hours, time zones) never overflows, and within PostgreSQL's timestamptz range.
inline constexpr std::int64_t kMinTimeSeconds = -2208988800;  // 1900-01-01T00:00:00Z
inline constexpr std::int64_t kMaxTimeSeconds = 7258118400;   // 2200-01-01T00:00:00Z (exclusive)

// seconds/nanos as in google.protobuf.Timestamp. Refuses nanos outside [0, 999999999] and instants outside the range
// above. Use IsUnsetTime to tell "not given" (0, 0) apart when the field is optional.
bool CheckTime(Violations& violations, std::int64_t seconds, std::int32_t nanos, std::string_view field);
inline bool IsUnsetTime(std::int64_t seconds, std::int32_t nanos) { return seconds == 0 && nanos == 0; }

// ---- money ----------------------------------------------------------------------------------------------------------

// ISO 4217 active currency codes (three upper-case letters from the standard's list, e.g. "EUR", "JPY", "KWD").
bool IsIsoCurrency(std::string_view code);
// Digits after the decimal point of the currency's minor unit (EUR 2, JPY 0, KWD 3); -1 for an unknown code.
int CurrencyMinorDigits(std::string_view code);

// Refuses a code that is not an active ISO 4217 currency; an empty code passes unless required.
bool CheckCurrency(Violations& violations, std::string_view code, std::string_view field, bool required = true);

struct MoneyRule {
    bool allow_negative = false;
    std::int64_t max_abs_minor = 1'000'000'000'000'000;  // 10^15 minor units: sums of thousands stay within int64
};
// An amount in minor units with its currency: `field` is the Money message's path; violations name
// "<field>.amount_minor" and "<field>.currency_code".
bool CheckMoney(Violations& violations, std::int64_t amount_minor, std::string_view currency, std::string_view field,
                MoneyRule rule = {});

}  // namespace crm::common
