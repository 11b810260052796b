#include "crm/common/public_token.hpp"

#include <catch2/catch.hpp>

using crm::common::PublicToken;
using crm::common::PublicTokenError;
using crm::common::SignPublicToken;
using crm::common::VerifyPublicToken;

namespace {
constexpr char kKey[] = "internal-key-for-tests-0123456789abcdef";
constexpr int64_t kNow = 1'800'000'000;
}  // namespace

TEST_CASE("public tokens: what is signed comes back, for its purpose only") {
    const PublicToken link{"tenant-a", {"campaign-1", "email", "contact-9"}, kNow + 3600};
    const std::string token = SignPublicToken("tracked-link", link, kKey);
    CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
          std::string::npos);
    const auto back = VerifyPublicToken("tracked-link", token, 3, kKey, kNow);
    REQUIRE(back.has_value());
    CHECK(back->tenant == "tenant-a");
    CHECK(back->fields == link.fields);
    CHECK(back->expires_at == kNow + 3600);

    PublicTokenError why{};
    CHECK_FALSE(VerifyPublicToken("unsubscribe", token, 3, kKey, kNow, &why));
    CHECK(why == PublicTokenError::kBadSignature);
    CHECK_FALSE(VerifyPublicToken("tracked-link", token, 3, "another key", kNow, &why));
    CHECK(why == PublicTokenError::kBadSignature);
    CHECK_FALSE(VerifyPublicToken("tracked-link", token, 2, kKey, kNow, &why));
    CHECK(why == PublicTokenError::kMalformed);
    CHECK_FALSE(VerifyPublicToken("tracked-link", token, 3, kKey, kNow + 3600, &why));
    CHECK(why == PublicTokenError::kExpired);
    CHECK(VerifyPublicToken("tracked-link", SignPublicToken("tracked-link", {"t", {}, 0}, kKey), 0, kKey, kNow * 10));
}

TEST_CASE("public tokens: any change to the payload or the MAC is refused") {
    const std::string token = SignPublicToken("survey", {"tenant-a", {"case-1"}, 0}, kKey);
    // Another tenant's token with the same fields signs differently; swapping payloads breaks the MAC.
    const std::string other = SignPublicToken("survey", {"tenant-b", {"case-1"}, 0}, kKey);
    const std::string forged = other.substr(0, other.find('.')) + token.substr(token.find('.'));
    PublicTokenError why{};
    CHECK_FALSE(VerifyPublicToken("survey", forged, 1, kKey, kNow, &why));
    CHECK(why == PublicTokenError::kBadSignature);
    for (size_t i = 0; i < token.size(); ++i) {
        std::string changed = token;
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        CHECK_FALSE(VerifyPublicToken("survey", changed, 1, kKey, kNow));
    }
    for (const std::string& bad :
         std::vector<std::string>{"", ".", "a.b.c", "!!!.AAAA", "AAAA", std::string(5000, 'A') + ".AAAA"}) {
        CHECK_FALSE(VerifyPublicToken("survey", bad, 1, kKey, kNow, &why));
        CHECK(why == PublicTokenError::kMalformed);
    }
}

TEST_CASE("public tokens: values that would blur the fields are refused when signing") {
    CHECK_THROWS_AS(SignPublicToken("", {"t", {}, 0}, kKey), std::invalid_argument);
    CHECK_THROWS_AS(SignPublicToken("p", {"", {}, 0}, kKey), std::invalid_argument);
    CHECK_THROWS_AS(SignPublicToken("p", {"t", {std::string("a\0b", 3)}, 0}, kKey), std::invalid_argument);
    CHECK_THROWS_AS(SignPublicToken("p", {std::string("t\0u", 3), {}, 0}, kKey), std::invalid_argument);
    CHECK_THROWS_AS(SignPublicToken("p", {"t", {}, -1}, kKey), std::invalid_argument);
    // Empty fields are kept in place.
    const auto back = VerifyPublicToken("p", SignPublicToken("p", {"t", {"", "x", ""}, 0}, kKey), 3, kKey, kNow);
    REQUIRE(back);
    CHECK(back->fields == std::vector<std::string>{"", "x", ""});
}
