#include "domain/decimal.hpp"

#include <limits>

namespace crm::sales::domain {
namespace {

constexpr Int128 kMaxInt64 = std::numeric_limits<std::int64_t>::max();

std::optional<std::int64_t> Fit(Int128 value) {
    if (value > kMaxInt64 || value < -kMaxInt64) return std::nullopt;
    return static_cast<std::int64_t>(value);
}

}  // namespace

Int128 Pow10(int exponent) {
    Int128 value = 1;
    for (int i = 0; i < exponent; ++i) value *= 10;
    return value;
}

std::optional<Fixed> ParseFixed(std::string_view text, int max_scale) {
    if (text.empty()) return std::nullopt;
    const auto dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (whole.empty() || whole.size() > 18) return std::nullopt;
    if (dot != std::string_view::npos && (fraction.empty() || static_cast<int>(fraction.size()) > max_scale)) {
        return std::nullopt;
    }
    Int128 units = 0;
    for (char c : whole) {
        if (c < '0' || c > '9') return std::nullopt;
        units = units * 10 + (c - '0');
    }
    int digits = 0;
    for (char c : fraction) {
        if (c < '0' || c > '9') return std::nullopt;
        units = units * 10 + (c - '0');
        ++digits;
    }
    units *= Pow10(max_scale - digits);
    return Fixed{units, max_scale};
}

std::string FormatFixed(const Fixed& value) {
    Int128 units = value.units < 0 ? -value.units : value.units;
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(units % 10)));
        units /= 10;
    } while (units > 0);
    while (static_cast<int>(digits.size()) <= value.scale) digits.insert(digits.begin(), '0');
    std::string whole = digits.substr(0, digits.size() - static_cast<std::size_t>(value.scale));
    std::string fraction = digits.substr(digits.size() - static_cast<std::size_t>(value.scale));
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    std::string out = value.units < 0 ? "-" + whole : whole;
    if (!fraction.empty()) out += "." + fraction;
    return out;
}

Int128 DivRoundHalfEven(Int128 numerator, Int128 denominator) {
    const bool negative = numerator < 0;
    const Int128 n = negative ? -numerator : numerator;
    Int128 quotient = n / denominator;
    const Int128 remainder = n % denominator;
    const Int128 twice = remainder * 2;
    if (twice > denominator || (twice == denominator && quotient % 2 == 1)) ++quotient;
    return negative ? -quotient : quotient;
}

std::optional<LineAmounts> ComputeLine(const LineInput& line) {
    const Int128 subtotal = DivRoundHalfEven(line.quantity.units * line.unit_price, Pow10(line.quantity.scale));
    const Int128 discount =
        DivRoundHalfEven(subtotal * line.discount_percent.units, 100 * Pow10(line.discount_percent.scale));
    const Int128 net = subtotal - discount;
    const Int128 tax = DivRoundHalfEven(net * line.tax_percent.units, 100 * Pow10(line.tax_percent.scale));
    const Int128 total = net + tax;
    auto s = Fit(subtotal), d = Fit(discount), n = Fit(net), t = Fit(tax), all = Fit(total);
    if (!s || !d || !n || !t || !all) return std::nullopt;
    return LineAmounts{*s, *d, *n, *t, *all};
}

std::optional<QuoteTotals> ComputeQuote(const std::vector<LineInput>& lines) {
    QuoteTotals out;
    Int128 subtotal = 0, discount = 0, net = 0, tax = 0, total = 0;
    for (const auto& line : lines) {
        auto amounts = ComputeLine(line);
        if (!amounts) return std::nullopt;
        subtotal += amounts->subtotal;
        discount += amounts->discount;
        net += amounts->net;
        tax += amounts->tax;
        total += amounts->total;
        out.lines.push_back(*amounts);
    }
    auto s = Fit(subtotal), d = Fit(discount), n = Fit(net), t = Fit(tax), all = Fit(total);
    if (!s || !d || !n || !t || !all) return std::nullopt;
    out.totals = LineAmounts{*s, *d, *n, *t, *all};
    return out;
}

std::int64_t WeightedAmount(Int128 sum_amount_times_probability) {
    return static_cast<std::int64_t>(DivRoundHalfEven(sum_amount_times_probability, 100));
}

}  // namespace crm::sales::domain
