#include "domain/checks.hpp"

#include "crm/common/resource.hpp"

namespace crm::sales::domain {

namespace {
constexpr std::size_t kMaxIdLength = 64;
}  // namespace

std::string CheckOptionalId(common::Violations& v, std::string_view value, const std::string& field) {
    return value.empty() ? std::string() : common::CheckId(v, value, field);
}

void CheckIgnoredToken(common::Violations& v, std::string_view value, std::string_view field) {
    common::CheckToken(v, value, field, kMaxIdLength);
}

void CheckEtagSyntax(common::Violations& v, std::string_view etag, std::string_view field) {
    if (!etag.empty() && !common::ParseEtag(etag)) {
        v.Add(std::string(field), "is not an etag this service issued: send back the etag of the last read, or none");
    }
}

void CheckProbability(common::Violations& v, int value, std::string_view field) {
    if (value < 0 || value > 100) v.Add(std::string(field), "must be within 0 to 100");
}

std::optional<Days> CheckDate(common::Violations& v, std::string_view value, std::string_view field) {
    if (value.empty()) return std::nullopt;
    const std::optional<Days> day = ParseDate(value);
    if (!day) v.Add(std::string(field), "must be a date YYYY-MM-DD from 1900-01-01 to 2199-12-31");
    return day;
}

std::optional<Fixed> CheckPercent(common::Violations& v, std::string_view value, int scale, std::string_view field) {
    const std::optional<Fixed> parsed = ParseFixed(value.empty() ? "0" : value, scale);
    if (!parsed || parsed->units > 100 * Pow10(scale)) {
        v.Add(std::string(field),
              "must be a percentage 0 to 100 with at most " + std::to_string(scale) + " decimal places, e.g. \"7.5\"");
        return std::nullopt;
    }
    return parsed;
}

std::optional<Fixed> CheckQuantity(common::Violations& v, std::string_view value, std::string_view field) {
    const std::optional<Fixed> parsed = ParseFixed(value, kQuantityScale);
    if (!parsed || parsed->units <= 0 || parsed->units > kMaxQuantityUnits) {
        v.Add(std::string(field),
              "must be a decimal greater than 0 and at most 1000000 with at most 3 decimal places, "
              "e.g. \"2.5\"");
        return std::nullopt;
    }
    return parsed;
}

void CheckAmount(common::Violations& v, std::int64_t amount_minor, std::string_view currency, std::string_view field) {
    if (!currency.empty()) {
        common::CheckMoney(v, amount_minor, currency, field);
        return;
    }
    // The kit's rule for the amount alone: its currency-required violation does not apply here.
    common::Violations money;
    common::CheckMoney(money, amount_minor, currency, field);
    const std::string amount_field = std::string(field) + ".amount_minor";
    for (const auto& violation : money.list()) {
        if (violation.field == amount_field) v.Add(violation.field, violation.description);
    }
}

bool CheckOptionalTime(common::Violations& v, bool present, std::int64_t seconds, std::int32_t nanos,
                       std::string_view field) {
    return !present || common::CheckTime(v, seconds, nanos, field);
}

}  // namespace crm::sales::domain
