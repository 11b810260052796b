#include "domain/normalize.hpp"

#include <catch2/catch.hpp>

#include "crm/common/text.hpp"

using namespace crm::contacts::domain;

TEST_CASE("valid emails are trimmed and lowercased", "[email]") {
    const auto [input, expected] = GENERATE(table<std::string, std::string>({
        {"john@example.com", "john@example.com"},
        {"  John.Doe@Example.COM \t", "john.doe@example.com"},
        {"first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"},
        {"o'brien@example.ie", "o'brien@example.ie"},
        {"a_b-c!#$%&*/=?^`{|}~@x-y.example", "a_b-c!#$%&*/=?^`{|}~@x-y.example"},
        {"user@xn--p1ai.xn--p1ai", "user@xn--p1ai.xn--p1ai"},
        {"x@a.io", "x@a.io"},
    }));
    const Normalized result = NormalizeEmail(input);
    INFO(input << " -> " << result.error);
    REQUIRE(result.ok());
    CHECK(result.value == expected);
}

TEST_CASE("invalid emails are rejected with a reason", "[email]") {
    const std::string input = GENERATE(
        as<std::string>{}, "", "   ", "plainaddress", "@example.com", "john@", "john@@example.com", "a@b@example.com",
        "john@localhost", "john@example", ".john@example.com", "john.@example.com", "jo..hn@example.com",
        "john doe@example.com", "john@exa mple.com", "john@-example.com", "john@example-.com", "john@example..com",
        "john@example.com.", "john@[127.0.0.1]", "john@127.0.0.1", "\"john\"@example.com", "jöhn@example.com",
        "john@exämple.com", "john(comment)@example.com", "john@example.com,jane@example.com");
    const Normalized result = NormalizeEmail(input);
    INFO(input);
    CHECK_FALSE(result.ok());
    CHECK_FALSE(result.error.empty());
    CHECK(result.value.empty());
}

TEST_CASE("email length limits", "[email]") {
    const std::string local64(64, 'a');
    CHECK(NormalizeEmail(local64 + "@example.com").ok());
    CHECK_FALSE(NormalizeEmail(local64 + "a@example.com").ok());

    // 254 characters in total is the maximum: 64 + 1 + 189.
    std::string domain;
    while (domain.size() < 189 - 4) domain += "abcdefghi.";
    domain.resize(189 - 4);
    if (domain.back() == '.') domain.back() = 'x';
    const std::string at_limit = local64 + "@" + domain + ".com";
    REQUIRE(at_limit.size() == 254);
    CHECK(NormalizeEmail(at_limit).ok());
    CHECK_FALSE(NormalizeEmail("b" + at_limit.substr(1, 63) + "b" + at_limit.substr(64)).ok());  // 255 chars
    const Normalized long_label = NormalizeEmail("a@" + std::string(64, 'x') + ".com");
    CHECK_FALSE(long_label.ok());
}

TEST_CASE("phones in international notation become E.164", "[phone]") {
    const auto [input, expected] = GENERATE(table<std::string, std::string>({
        {"+1 (415) 555-2671", "+14155552671"},
        {"+44 20 7946 0958", "+442079460958"},
        {"00 49 30 1234567", "+49301234567"},
        {"0049-30-1234567", "+49301234567"},
        {"+33.1.23.45.67.89", "+33123456789"},
        {"  +14155552671  ", "+14155552671"},
        {"+86 138 0013 8000", "+8613800138000"},
        {"+123456789012345", "+123456789012345"},
        {"+12345678", "+12345678"},
    }));
    const Normalized result = NormalizePhone(input);
    INFO(input << " -> " << result.error);
    REQUIRE(result.ok());
    CHECK(result.value == expected);
}

TEST_CASE("national phone numbers need a default calling code", "[phone]") {
    CHECK_FALSE(NormalizePhone("(415) 555-2671").ok());
    CHECK_FALSE(NormalizePhone("(415) 555-2671", "").ok());
    CHECK_FALSE(NormalizePhone("(415) 555-2671", "0").ok());
    CHECK_FALSE(NormalizePhone("(415) 555-2671", "1234").ok());
    CHECK_FALSE(NormalizePhone("(415) 555-2671", "+1").ok());

    CHECK(NormalizePhone("(415) 555-2671", "1").value == "+14155552671");
    CHECK(NormalizePhone("1 415 555 2671", "1").value == "+14155552671");
    CHECK(NormalizePhone("020 7946 0958", "44").value == "+442079460958");
    CHECK(NormalizePhone("030 1234567", "49").value == "+49301234567");
    CHECK(NormalizePhone("06 6982 1234", "39").value == "+390669821234");  // Italy keeps its leading 0
    // An international number ignores the default.
    CHECK(NormalizePhone("+44 20 7946 0958", "1").value == "+442079460958");
    CHECK(NormalizePhone("0044 20 7946 0958", "1").value == "+442079460958");
}

TEST_CASE("malformed phones are rejected", "[phone]") {
    const std::string input = GENERATE(
        as<std::string>{}, "", "   ", "+", "abc", "+1 415 555 CALL", "+1 415 555 2671 ext. 12", "+1 415 555 2671 x12",
        "1+4155552671", "++14155552671", "+0 123 456 789", "+1 415/555/2671", "+1234567890123456", "+1#4155552671",
        "+44 20 7946 0958 0958 0958", "+1234567", "0012", "+1 415\n555 2671");
    const Normalized result = NormalizePhone(input, "");
    INFO(input);
    CHECK_FALSE(result.ok());
    CHECK_FALSE(result.error.empty());
}

TEST_CASE("phone input longer than 64 characters is rejected", "[phone]") {
    std::string spaced = "+1";
    while (spaced.size() <= 64) spaced += " ";
    spaced += "4155552671";
    CHECK_FALSE(NormalizePhone(spaced).ok());
}

TEST_CASE("calling codes", "[phone]") {
    CHECK(IsValidCallingCode("1"));
    CHECK(IsValidCallingCode("44"));
    CHECK(IsValidCallingCode("358"));
    CHECK_FALSE(IsValidCallingCode(""));
    CHECK_FALSE(IsValidCallingCode("01"));
    CHECK_FALSE(IsValidCallingCode("1234"));
    CHECK_FALSE(IsValidCallingCode("4a"));
}

TEST_CASE("names are folded for matching", "[name]") {
    const auto [input, expected] = GENERATE(table<std::string, std::string>({
        {"  José   MÜLLER ", "jose muller"},
        {"Ærøskøbing", "aeroskobing"},
        {"Straße", "strasse"},
        {"Łódź", "lodz"},
        {"François Çelik", "francois celik"},
        {"Ñuñez", "nunez"},
        {"Şerban Ţăranu", "serban taranu"},
        {"Șerban Țăranu", "serban taranu"},
        {"Œuvre Þór", "oeuvre thor"},
        {"Dvořák Škoda Žižka", "dvorak skoda zizka"},
        {"Jose\xCC\x81", "jose"},         // e + combining acute accent (decomposed form)
        {"Anna\xC2\xA0Lee", "anna lee"},  // no-break space
        {"O'Brien-Smith", "o'brien-smith"},
        {"Иван Петров", "Иван Петров"},  // other scripts are kept
        {"", ""},
    }));
    CHECK(NormalizeName(input) == expected);
}

TEST_CASE("full names join given and family name", "[name]") {
    CHECK(NormalizeFullName("José", "Müller") == "jose muller");
    CHECK(NormalizeFullName("", "Müller") == "muller");
    CHECK(NormalizeFullName("José", "") == "jose");
    CHECK(NormalizeFullName("", "").empty());
}

TEST_CASE("web domains are normalized", "[domain]") {
    const auto [input, expected] = GENERATE(table<std::string, std::string>({
        {"example.com", "example.com"},
        {"HTTPS://www.Example.COM:443/about?x=1#top", "example.com"},
        {"http://user:pw@shop.example.co.uk/path", "shop.example.co.uk"},
        {"www.acme.io", "acme.io"},
        {"acme.io.", "acme.io"},
        {"  Acme.IO  ", "acme.io"},
        {"www.com", "www.com"},
        {"ftp://files.example.org", "files.example.org"},
        {"example.com?ref=1", "example.com"},
    }));
    const Normalized result = NormalizeWebDomain(input);
    INFO(input << " -> " << result.error);
    REQUIRE(result.ok());
    CHECK(result.value == expected);
}

TEST_CASE("invalid web domains are rejected", "[domain]") {
    const std::string input =
        GENERATE(as<std::string>{}, "", "localhost", "http://", "exa mple.com", "-acme.com", "acme-.com", "acme..com",
                 "192.168.0.1", "acme_corp.com", "https:///path", "ex\xC3\xA4mple.com");
    INFO(input);
    CHECK_FALSE(NormalizeWebDomain(input).ok());
}

TEST_CASE("tags", "[tags]") {
    CHECK(NormalizeTag("  VIP   Customer ").value == "vip customer");
    CHECK(NormalizeTag("b2b/emea").value == "b2b/emea");
    CHECK(NormalizeTag("tier:gold").value == "tier:gold");
    CHECK(NormalizeTag("Café").value == "café");
    CHECK(NormalizeTag(std::string(64, 'a')).ok());
    CHECK_FALSE(NormalizeTag(std::string(65, 'a')).ok());
    CHECK_FALSE(NormalizeTag("").ok());
    CHECK_FALSE(NormalizeTag("   ").ok());
    CHECK_FALSE(NormalizeTag("a,b").ok());
    CHECK_FALSE(NormalizeTag("#hash").ok());
    CHECK(NormalizeTag("tab\there").value == "tab here");
    CHECK_FALSE(NormalizeTag("bell\x07").ok());
}

TEST_CASE("search queries", "[search]") {
    SECTION("words become folded text terms") {
        const auto terms = ParseSearchQuery("  José  MÜL ");
        REQUIRE(terms.size() == 2);
        CHECK(terms[0].text == "jose");
        CHECK(terms[0].phone_prefix.empty());
        CHECK(terms[1].text == "mul");
    }
    SECTION("a phone-like query is one phone term") {
        auto terms = ParseSearchQuery("+1 (415) 555");
        REQUIRE(terms.size() == 1);
        CHECK(terms[0].phone_prefix == "+1415555");
        terms = ParseSearchQuery("0044 20");
        REQUIRE(terms.size() == 1);
        CHECK(terms[0].phone_prefix == "+4420");
        terms = ParseSearchQuery("4155");
        REQUIRE(terms.size() == 1);
        CHECK(terms[0].phone_prefix == "+4155");
        CHECK(terms[0].text == "4155");
    }
    SECTION("mixed text and digits is text") {
        const auto terms = ParseSearchQuery("john 415");
        REQUIRE(terms.size() == 2);
        CHECK(terms[1].text == "415");
        CHECK(terms[1].phone_prefix.empty());
    }
    SECTION("blank queries have no terms and long ones are capped") {
        CHECK(ParseSearchQuery("").empty());
        CHECK(ParseSearchQuery(" \t ").empty());
        CHECK(ParseSearchQuery("+ -").empty());
        const auto terms = ParseSearchQuery("Smith - Jones");
        REQUIRE(terms.size() == 2);
        CHECK(terms[1].text == "jones");
        CHECK(ParseSearchQuery("a b c d e f g").size() == 5);
    }
}

TEST_CASE("prefix upper bounds order after every string with the prefix", "[search]") {
    const std::string bound = PrefixUpperBound("jo");
    CHECK(bound == "jo\xF4\x8F\xBF\xBF");
    // Byte-wise comparison, as text_pattern_ops does it.
    for (const char* inside : {"jo", "joe", "john smith", "jo\xC3\xA9", "jo\xF0\x9F\x98\x80", "jo~"}) {
        INFO(inside);
        CHECK(std::string(inside) >= std::string("jo"));
        CHECK(std::string(inside) < bound);
    }
    for (const char* outside : {"jp", "j", "k", "JO", "jn\xF4\x8F\xBF\xBF"}) {
        INFO(outside);
        CHECK_FALSE((std::string(outside) >= std::string("jo") && std::string(outside) < bound));
    }
}

TEST_CASE("text helpers", "[text]") {
    CHECK(crm::common::text::Utf8Length("") == 0);
    CHECK(crm::common::text::Utf8Length("abc") == 3);
    CHECK(crm::common::text::Utf8Length("José") == 4);
    CHECK(crm::common::text::Utf8Length("日本") == 2);
    CHECK(crm::common::text::Utf8Length("\xF0\x9F\x98\x80") == 1);  // one emoji
    CHECK(crm::common::text::Utf8Length("\xC3") == 1);              // truncated sequence counts once
    CHECK(crm::common::text::Trim("\xC2\xA0 a  b \t") == "a  b");
    CHECK(crm::common::text::CollapseWhitespace("  a \n\t b  ") == "a b");
    CHECK(crm::common::text::AsciiLower("ÀBC") == "Àbc");
    CHECK(crm::common::text::HasControlCharacters("a\x01"));
    CHECK(crm::common::text::HasControlCharacters("a\xC2\x85"));  // NEL, a C1 control
    CHECK_FALSE(crm::common::text::HasControlCharacters("plain José"));
}
