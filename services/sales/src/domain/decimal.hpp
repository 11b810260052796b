#pragma once
// Exact decimal arithmetic for money: no floating point anywhere. Decimal inputs ("3", "2.5", "7.25") are parsed
// into integers scaled by a fixed power of ten; products are formed in 128-bit integers and rounded once to whole
// minor units, half to even (banker's rounding).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm::sales::domain {

using Int128 = __int128;

// A non-negative decimal with a fixed number of fraction digits: value = units / 10^scale.
struct Fixed {
    Int128 units = 0;
    int scale = 0;
};

// Parses plain notation ("12", "12.5", "0.125"; no sign, no exponent, no spaces) with at most max_scale fraction
// digits and at most 18 integer digits; the result has exactly max_scale. nullopt for anything else.
std::optional<Fixed> ParseFixed(std::string_view text, int max_scale);

// The shortest plain notation of a Fixed ("12.50" at scale 2 -> "12.5", "3.000" -> "3").
std::string FormatFixed(const Fixed& value);

// round(numerator / denominator) to an integer, half to even. denominator > 0.
Int128 DivRoundHalfEven(Int128 numerator, Int128 denominator);

Int128 Pow10(int exponent);

// One quote line (all money in minor units of the quote currency):
//   subtotal = round(quantity × unit_price); discount = round(subtotal × discount% / 100); net = subtotal − discount;
//   tax = round(net × tax% / 100); total = net + tax; round() = half-even to a whole minor unit.
struct LineInput {
    Fixed quantity;           // scale kQuantityScale
    std::int64_t unit_price;  // minor units, >= 0
    Fixed discount_percent;   // scale kDiscountScale, 0..100
    Fixed tax_percent;        // scale kTaxScale, 0..100
};
inline constexpr int kQuantityScale = 3;
inline constexpr int kDiscountScale = 2;
inline constexpr int kTaxScale = 3;

struct LineAmounts {
    std::int64_t subtotal = 0;
    std::int64_t discount = 0;
    std::int64_t net = 0;
    std::int64_t tax = 0;
    std::int64_t total = 0;
};

struct QuoteTotals {
    std::vector<LineAmounts> lines;
    LineAmounts totals;  // sums of the lines, no further rounding
};

// nullopt when a value does not fit in int64 minor units.
std::optional<LineAmounts> ComputeLine(const LineInput& line);
std::optional<QuoteTotals> ComputeQuote(const std::vector<LineInput>& lines);

// Weighted amount: round_half_even(Σ amount × probability / 100); probabilities in whole percent.
std::int64_t WeightedAmount(Int128 sum_amount_times_probability);

}  // namespace crm::sales::domain
