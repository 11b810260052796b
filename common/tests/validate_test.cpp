#include "crm/common/validate.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "crm/common/text.hpp"

using namespace crm::common;

namespace {
// The violation a single check produced for `value` ("" when it passed).
std::string TextProblem(std::string_view value, TextRule rule = {}) {
    Violations v;
    const bool ok = CheckText(v, value, "lead.notes", rule);
    REQUIRE(ok == v.empty());
    if (v.empty()) return "";
    REQUIRE(v.size() == 1);
    CHECK(v.list()[0].field == "lead.notes");
    return v.list()[0].description;
}
}  // namespace

TEST_CASE("text: NUL and every other control character is refused, never cut") {
    using namespace std::string_literals;
    CHECK(TextProblem("Ada") == "");
    CHECK(TextProblem("SKU\0B"s).find("control") != std::string::npos);
    CHECK(TextProblem("\0"s) != "");
    for (int c = 1; c < 0x20; ++c) {
        INFO("byte " << c);
        CHECK(TextProblem(std::string("a") + static_cast<char>(c) + "b") != "");
    }
    CHECK(TextProblem("a\x7f"
                      "b") != "");  // DEL
    CHECK(TextProblem("a\xc2\x85"
                      "b") != "");  // NEL, a C1 control
    CHECK(TextProblem("a\xc2\x9f"
                      "b") != "");  // last C1 control
    CHECK(TextProblem("a\xc2\xa0"
                      "b") == "");                    // no-break space is text
    CHECK(TextProblem("line\nbreak", kNotes) == "");  // multi-line text keeps line breaks and tabs
    CHECK(TextProblem("tab\there\r\n", kNotes) == "");
    CHECK(TextProblem("nul\0in notes"s, kNotes) != "");  // but never NUL
    CHECK(TextProblem("line\nbreak") != "");             // single-line text refuses them
}

TEST_CASE("text: invalid UTF-8 is refused") {
    CHECK(TextProblem("\xff") == "is not valid UTF-8");
    CHECK(TextProblem("a\xc3") == "is not valid UTF-8");                   // truncated
    CHECK(TextProblem("\xc0\xaf") == "is not valid UTF-8");                // overlong '/'
    CHECK(TextProblem("\xe0\x80\xaf") == "is not valid UTF-8");            // overlong, three bytes
    CHECK(TextProblem("\xc1\x83") == "is not valid UTF-8");                // overlong C1 control
    CHECK(TextProblem("\xed\xa0\x80") == "is not valid UTF-8");            // a UTF-16 surrogate
    CHECK(TextProblem("\xf4\x90\x80\x80") == "is not valid UTF-8");        // above U+10FFFF
    CHECK(TextProblem("\x80") == "is not valid UTF-8");                    // stray continuation byte
    CHECK(TextProblem("Jos\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80") == "");  // é, 日, 😀
}

TEST_CASE("text: length in code points, required after trimming") {
    CHECK(TextProblem(std::string(200, 'a')) == "");
    CHECK(TextProblem(std::string(201, 'a')).find("at most 200") != std::string::npos);
    std::string emoji;
    for (int i = 0; i < 200; ++i) emoji += "\xf0\x9f\x98\x80";  // 800 bytes, 200 code points
    CHECK(TextProblem(emoji) == "");
    CHECK(TextProblem("", kRequiredName) == "is required");
    CHECK(TextProblem("   ", kRequiredName) == "is required");
    CHECK(TextProblem("", kName) == "");
}

TEST_CASE("tokens: printable, no surrounding whitespace, bounded") {
    Violations v;
    CHECK(CheckToken(v, "", "sku", 64));
    CHECK(CheckToken(v, "SKU-42", "sku", 64));
    CHECK_FALSE(CheckToken(v, "", "sku", 64, true));
    CHECK_FALSE(CheckToken(v, " SKU", "sku", 64));
    CHECK_FALSE(CheckToken(v, std::string(65, 'x'), "sku", 64));
    CHECK_FALSE(CheckToken(v, std::string("SKU\0A", 5), "sku", 64));
    CHECK(v.size() == 4);
}

TEST_CASE("list sizes") {
    Violations v;
    CHECK(CheckListSize(v, 100, "tags", 100));
    CHECK_FALSE(CheckListSize(v, 101, "tags", 100));
    REQUIRE(v.size() == 1);
    CHECK(v.list()[0].field == "tags");
}

TEST_CASE("timestamps: one range for the whole suite") {
    Violations v;
    CHECK(CheckTime(v, kMinTimeSeconds, 0, "t"));              // 1900-01-01T00:00:00Z
    CHECK(CheckTime(v, 0, 0, "t"));                            // 1970
    CHECK(CheckTime(v, -86400 * 365, 0, "t"));                 // 1969: dates before the epoch are fine
    CHECK(CheckTime(v, kMaxTimeSeconds - 1, 999999999, "t"));  // 2199-12-31T23:59:59.999999999Z
    CHECK(v.empty());
    CHECK_FALSE(CheckTime(v, kMinTimeSeconds - 1, 0, "a"));
    CHECK_FALSE(CheckTime(v, kMaxTimeSeconds, 0, "b"));
    CHECK_FALSE(CheckTime(v, 0, -1, "c"));
    CHECK_FALSE(CheckTime(v, 0, 1000000000, "d"));
    CHECK_FALSE(CheckTime(v, -62135596800, 0, "e"));  // year 1
    CHECK_FALSE(CheckTime(v, 253402300799, 0, "f"));  // year 9999
    REQUIRE(v.size() == 6);
    CHECK(v.list()[0].field == "a");
    CHECK(IsUnsetTime(0, 0));
    CHECK_FALSE(IsUnsetTime(0, 1));
}

TEST_CASE("currencies: ISO 4217 codes with their minor units") {
    CHECK(IsIsoCurrency("EUR"));
    CHECK(IsIsoCurrency("USD"));
    CHECK_FALSE(IsIsoCurrency("eur"));
    CHECK_FALSE(IsIsoCurrency("ABC"));
    CHECK_FALSE(IsIsoCurrency("XXX"));  // "no currency"
    CHECK_FALSE(IsIsoCurrency("XAU"));  // gold
    CHECK_FALSE(IsIsoCurrency("EURO"));
    CHECK_FALSE(IsIsoCurrency(""));
    CHECK(CurrencyMinorDigits("EUR") == 2);
    CHECK(CurrencyMinorDigits("JPY") == 0);
    CHECK(CurrencyMinorDigits("KWD") == 3);
    CHECK(CurrencyMinorDigits("CLF") == 4);
    CHECK(CurrencyMinorDigits("ABC") == -1);
    Violations v;
    CHECK(CheckCurrency(v, "", "currency_code", false));
    CHECK_FALSE(CheckCurrency(v, "", "currency_code"));
    CHECK_FALSE(CheckCurrency(v, "ZZZ", "currency_code"));
    CHECK(v.size() == 2);
}

TEST_CASE("money: amount bounds and currency, named by sub-field") {
    Violations v;
    CHECK(CheckMoney(v, 5802, "EUR", "quote.total"));
    CHECK(CheckMoney(v, 0, "JPY", "amount"));
    CHECK(CheckMoney(v, -100, "EUR", "adjustment", {.allow_negative = true}));
    CHECK(v.empty());
    CHECK_FALSE(CheckMoney(v, -1, "EUR", "amount"));
    CHECK_FALSE(CheckMoney(v, 1'000'000'000'000'001, "EUR", "budget"));
    CHECK_FALSE(CheckMoney(v, 1, "eur", "cost"));
    REQUIRE(v.size() == 3);
    CHECK(v.list()[0].field == "amount.amount_minor");
    CHECK(v.list()[1].field == "budget.amount_minor");
    CHECK(v.list()[2].field == "cost.currency_code");
}

TEST_CASE("UTF-8 validity agrees with the decoder on every two-byte sequence") {
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const std::string s{static_cast<char>(a), static_cast<char>(b)};
            const bool valid = text::IsValidUtf8(s);
            // A valid pair is either two ASCII bytes or one code point U+0080..U+07FF.
            const bool expected = (a < 0x80 && b < 0x80) || (a >= 0xC2 && a <= 0xDF && (b & 0xC0) == 0x80);
            INFO(a << " " << b);
            CHECK(valid == expected);
        }
    }
}
