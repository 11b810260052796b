// Exact decimal arithmetic of quotes: parsing, half-even rounding, line and quote totals.
#include "domain/decimal.hpp"

#include <catch2/catch.hpp>

using namespace crm::sales::domain;

namespace {
LineInput Line(const char* qty, std::int64_t price, const char* discount, const char* tax) {
    return {*ParseFixed(qty, kQuantityScale), price, *ParseFixed(discount, kDiscountScale),
            *ParseFixed(tax, kTaxScale)};
}
}  // namespace

TEST_CASE("decimal: 3 x 19.99 with 10% discount and 7.5% tax is 58.02 by the half-even rule", "[sales][decimal]") {
    const auto line = ComputeLine(Line("3", 1999, "10", "7.5"));
    REQUIRE(line);
    CHECK(line->subtotal == 5997);  // 59.97
    CHECK(line->discount == 600);   // 5.997 -> 6.00
    CHECK(line->net == 5397);       // 53.97
    CHECK(line->tax == 405);        // 4.04775 -> 4.05
    CHECK(line->total == 5802);     // 58.02
}

TEST_CASE("decimal: half-even rounding goes to the even neighbour only on an exact half", "[sales][decimal]") {
    CHECK(DivRoundHalfEven(25, 10) == 2);    // 2.5 -> 2
    CHECK(DivRoundHalfEven(35, 10) == 4);    // 3.5 -> 4
    CHECK(DivRoundHalfEven(251, 100) == 3);  // 2.51 -> 3
    CHECK(DivRoundHalfEven(249, 100) == 2);
    CHECK(DivRoundHalfEven(-25, 10) == -2);
    CHECK(DivRoundHalfEven(-35, 10) == -4);
    CHECK(DivRoundHalfEven(0, 7) == 0);
    // A line whose discount is an exact half cent: 0.5 x 1.01 = 0.505 -> 0.50 (subtotal rounds to even 50).
    const auto half = ComputeLine(Line("0.5", 101, "0", "0"));
    REQUIRE(half);
    CHECK(half->subtotal == 50);
    const auto half_up = ComputeLine(Line("0.5", 103, "0", "0"));  // 0.515 -> 0.52
    REQUIRE(half_up);
    CHECK(half_up->subtotal == 52);
}

TEST_CASE("decimal: quote totals are sums of the rounded lines", "[sales][decimal]") {
    const auto quote =
        ComputeQuote({Line("3", 1999, "10", "7.5"), Line("1", 1, "50", "0"), Line("2.25", 1000, "0", "19")});
    REQUIRE(quote);
    REQUIRE(quote->lines.size() == 3);
    CHECK(quote->lines[1].discount == 0);  // 0.5 cent -> 0 (even)
    CHECK(quote->lines[1].total == 1);
    CHECK(quote->lines[2].subtotal == 2250);
    CHECK(quote->lines[2].tax == 428);  // 427.5 -> 428 (even)
    CHECK(quote->totals.subtotal == 5997 + 1 + 2250);
    CHECK(quote->totals.discount == 600);
    CHECK(quote->totals.tax == 405 + 428);
    CHECK(quote->totals.total == 5802 + 1 + 2678);
}

TEST_CASE("decimal: parsing accepts plain notation within the scale only", "[sales][decimal]") {
    CHECK(ParseFixed("7.5", 3)->units == 7500);
    CHECK(ParseFixed("0.125", 3)->units == 125);
    CHECK(ParseFixed("100", 2)->units == 10000);
    CHECK_FALSE(ParseFixed("", 2));
    CHECK_FALSE(ParseFixed("1.234", 2));
    CHECK_FALSE(ParseFixed("-1", 2));
    CHECK_FALSE(ParseFixed("1e3", 2));
    CHECK_FALSE(ParseFixed(".5", 2));
    CHECK_FALSE(ParseFixed("5.", 2));
    CHECK_FALSE(ParseFixed("1 000", 2));
    CHECK(FormatFixed(*ParseFixed("12.50", 2)) == "12.5");
    CHECK(FormatFixed(*ParseFixed("3", 3)) == "3");
    CHECK(FormatFixed(*ParseFixed("0.05", 2)) == "0.05");
}

TEST_CASE("decimal: amounts that do not fit in 64-bit minor units are refused, not wrapped", "[sales][decimal]") {
    CHECK_FALSE(ComputeLine(Line("1000000", 9'000'000'000'000'000'000, "0", "0")));
    CHECK_FALSE(
        ComputeQuote({Line("1", 9'000'000'000'000'000'000, "0", "0"), Line("1", 9'000'000'000'000'000'000, "0", "0")}));
}

TEST_CASE("decimal: weighted amount rounds the exact sum once", "[sales][decimal]") {
    // 3 deals of 0.01 at 50% = 1.5 cents -> 2 (even); one deal -> 0.5 -> 0.
    CHECK(WeightedAmount(static_cast<Int128>(1) * 50 * 3) == 2);
    CHECK(WeightedAmount(static_cast<Int128>(1) * 50) == 0);
    CHECK(WeightedAmount(static_cast<Int128>(100000) * 25 + static_cast<Int128>(50000) * 80) == 65000);
}
