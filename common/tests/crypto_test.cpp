#include "crm/common/crypto.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace crm::common;

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
    CHECK(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("SHA-256 of the empty string") {
    CHECK(HexEncode(Sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("base64url round-trips every length and rejects bad input") {
    for (size_t n = 0; n < 40; ++n) {
        std::string bytes = RandomBytes(n);
        std::string enc = Base64UrlEncode(bytes);
        CHECK(enc.find('=') == std::string::npos);
        CHECK(Base64UrlDecode(enc) == bytes);
    }
    CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
    CHECK_THROWS(Base64UrlDecode("a"));
    CHECK_THROWS(Base64UrlDecode("ab+c"));
    CHECK_THROWS(Base64UrlDecode("ab/c"));
}

TEST_CASE("hex round-trips and rejects bad digits") {
    const std::string bytes("\x00\x01\xff", 3);
    CHECK(HexEncode(bytes) == "0001ff");
    CHECK(HexDecode(HexEncode(bytes)) == bytes);
    CHECK_THROWS(HexDecode("abc"));
    CHECK_THROWS(HexDecode("zz"));
}

TEST_CASE("UUIDs are version 4, well-formed and distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string id = NewUuid();
        REQUIRE(IsUuid(id));
        CHECK(id[14] == '4');
        CHECK(std::string("89ab").find(id[19]) != std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
    CHECK_FALSE(IsUuid("not-a-uuid"));
    CHECK_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
    CHECK(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
    CHECK(IsUuid("7B0E4A52-8D0E-4C3C-9A55-1C1B7F1F0A01"));
    CHECK_FALSE(IsUuid(""));
    CHECK_FALSE(IsUuid("7b0e4a528d0e4c3c9a551c1b7f1f0a01"));
    CHECK_FALSE(IsUuid("7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a0"));
    CHECK_FALSE(IsUuid("{7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01}"));
    CHECK_FALSE(IsUuid("' OR 1=1 --                         "));
}

TEST_CASE("constant-time comparison") {
    CHECK(ConstantTimeEquals("abc", "abc"));
    CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
    CHECK_FALSE(ConstantTimeEquals("abc", "abcd"));
}
