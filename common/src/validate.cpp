#include "crm/common/validate.hpp"

#include <algorithm>

#include "crm/common/text.hpp"

namespace crm::common {
namespace {

std::string F(std::string_view field) { return std::string(field); }

struct CurrencyInfo {
    char code[4];
    int minor_digits;
};

// ISO 4217 list one (active codes), sorted by code. Left out on purpose: precious metals, the SDR, bond-market units
// and test codes (XAU, XAG, XPD, XPT, XDR, XBA..XBD, XSU, XUA, XTS, XXX), which have no minor unit to count in.
constexpr CurrencyInfo kCurrencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2},
    {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
    {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2},
    {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
    {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2},
    {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
    {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2},
    {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
    {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
    {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4},
    {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2}, {"ZWL", 2},
};

const CurrencyInfo* FindCurrency(std::string_view code) {
    if (code.size() != 3) return nullptr;
    for (const auto& c : kCurrencies) {
        if (code == c.code) return &c;
    }
    return nullptr;
}

}  // namespace

bool CheckText(Violations& violations, std::string_view value, std::string_view field, TextRule rule) {
    if (!text::IsValidUtf8(value)) {
        violations.Add(F(field), "is not valid UTF-8");
        return false;
    }
    if (text::HasControlCharacters(value, rule.multiline)) {
        violations.Add(F(field), rule.multiline ? "must not contain control characters (other than tab and line breaks)"
                                                : "must not contain control characters (NUL, line breaks, ...)");
        return false;
    }
    const std::size_t length = text::Utf8Length(value);
    if (length > rule.max_chars) {
        violations.Add(F(field), "must be at most " + std::to_string(rule.max_chars) + " characters (has " +
                                     std::to_string(length) + ")");
        return false;
    }
    if (rule.required && text::Trim(value).empty()) {
        violations.Add(F(field), "is required");
        return false;
    }
    return true;
}

bool CheckToken(Violations& violations, std::string_view value, std::string_view field, std::size_t max_chars,
                bool required) {
    if (value.empty()) {
        if (required) violations.Add(F(field), "is required");
        return !required;
    }
    if (!CheckText(violations, value, field, {.max_chars = max_chars})) return false;
    if (text::Trim(value).size() != value.size()) {
        violations.Add(F(field), "must not start or end with whitespace");
        return false;
    }
    return true;
}

bool CheckListSize(Violations& violations, std::size_t size, std::string_view field, std::size_t max_items) {
    if (size <= max_items) return true;
    violations.Add(F(field),
                   "must have at most " + std::to_string(max_items) + " entries (has " + std::to_string(size) + ")");
    return false;
}

bool CheckTime(Violations& violations, std::int64_t seconds, std::int32_t nanos, std::string_view field) {
    if (nanos < 0 || nanos > 999'999'999) {
        violations.Add(F(field), "nanos must be within 0..999999999");
        return false;
    }
    if (seconds < kMinTimeSeconds || seconds >= kMaxTimeSeconds) {
        violations.Add(F(field), "must be within 1900-01-01T00:00:00Z and 2199-12-31T23:59:59Z");
        return false;
    }
    return true;
}

bool IsIsoCurrency(std::string_view code) { return FindCurrency(code) != nullptr; }

int CurrencyMinorDigits(std::string_view code) {
    const CurrencyInfo* c = FindCurrency(code);
    return c ? c->minor_digits : -1;
}

bool CheckCurrency(Violations& violations, std::string_view code, std::string_view field, bool required) {
    if (code.empty()) {
        if (required) violations.Add(F(field), "is required: an ISO 4217 currency code such as EUR");
        return !required;
    }
    if (!IsIsoCurrency(code)) {
        violations.Add(F(field), "must be an ISO 4217 currency code of three upper-case letters, such as EUR");
        return false;
    }
    return true;
}

bool CheckMoney(Violations& violations, std::int64_t amount_minor, std::string_view currency, std::string_view field,
                MoneyRule rule) {
    const std::string prefix = field.empty() ? std::string() : F(field) + ".";
    bool ok = CheckCurrency(violations, currency, prefix + "currency_code");
    if (amount_minor < 0 && !rule.allow_negative) {
        violations.Add(prefix + "amount_minor", "must not be negative");
        ok = false;
    } else if (amount_minor > rule.max_abs_minor || amount_minor < -rule.max_abs_minor) {
        violations.Add(prefix + "amount_minor",
                       "must be within ±" + std::to_string(rule.max_abs_minor) + " minor units");
        ok = false;
    }
    return ok;
}

}  // namespace crm::common
