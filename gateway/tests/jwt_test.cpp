#include "authentication/jwt.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "authentication/jwt_cache.hpp"
#include "crm/common/crypto.hpp"

using crm::gateway::JwtFailure;
using crm::gateway::JwtSettings;
using crm::gateway::JwtVerifier;
using nlohmann::json;

namespace {

const std::string kSecret = "test-secret-0123456789abcdef-0123456789";
constexpr std::int64_t kNow = 1'700'000'000;
const auto kNowTp = std::chrono::system_clock::time_point(std::chrono::seconds(kNow));

JwtSettings Settings() { return JwtSettings{kSecret, "crm-local", "crm-api", std::chrono::seconds(30), {}}; }

json Claims() {
    return json{{"iss", "crm-local"},
                {"aud", "crm-api"},
                {"sub", "user-1"},
                {"tenant", "acme"},
                {"roles", {"sales_rep", "admin"}},
                {"exp", kNow + 600},
                {"nbf", kNow - 10},
                {"iat", kNow - 10},
                {"jti", "token-1"}};
}

std::string B64(const std::string& s) { return crm::common::Base64UrlEncode(s); }

std::string SignRaw(const std::string& header_text, const std::string& payload_text,
                    const std::string& secret = kSecret) {
    const std::string input = B64(header_text) + "." + B64(payload_text);
    return input + "." + B64(crm::common::HmacSha256(secret, input));
}

std::string Mint(const json& claims, const json& header = json{{"alg", "HS256"}, {"typ", "JWT"}},
                 const std::string& secret = kSecret) {
    return SignRaw(header.dump(), claims.dump(), secret);
}

JwtFailure Check(const std::string& token, std::chrono::system_clock::time_point now = kNowTp) {
    return JwtVerifier(Settings()).Verify(token, now).failure;
}

json Without(json claims, const char* name) {
    claims.erase(name);
    return claims;
}

json With(json claims, const char* name, json value) {
    claims[name] = std::move(value);
    return claims;
}

}  // namespace

TEST_CASE("a valid token yields its claims") {
    auto result = JwtVerifier(Settings()).Verify(Mint(Claims()), kNowTp);
    REQUIRE(result.ok());
    CHECK(std::string(result.reason()) == "none");
    CHECK(result.claims.subject == "user-1");
    CHECK(result.claims.tenant == "acme");
    CHECK(result.claims.roles == std::vector<std::string>{"sales_rep", "admin"});
    CHECK(result.claims.jti == "token-1");
    CHECK(result.claims.expires_at == kNow + 600);
}

TEST_CASE("optional parts may be absent") {
    json c = Claims();
    c.erase("jti");
    c.erase("nbf");
    c.erase("iat");
    c["roles"] = json::array();
    CHECK(Check(Mint(c, json{{"alg", "HS256"}})) == JwtFailure::kNone);  // typ absent
    CHECK(Check(Mint(c, json{{"alg", "HS256"}, {"typ", "jwt"}, {"kid", "k1"}})) == JwtFailure::kNone);
    CHECK(Check(Mint(With(c, "jti", nullptr))) == JwtFailure::kNone);
}

TEST_CASE("failure names are stable") {
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kMalformed)) == "malformed");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kBadSignature)) == "bad_signature");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kBadAlgorithm)) == "bad_algorithm");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kExpired)) == "expired");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kNotYetValid)) == "not_yet_valid");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kWrongIssuer)) == "wrong_issuer");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kWrongAudience)) == "wrong_audience");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kMissingClaim)) == "missing_claim");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kInvalidClaim)) == "invalid_claim");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kTooLarge)) == "too_large");
    CHECK(std::string(crm::gateway::JwtFailureName(JwtFailure::kBadHeader)) == "bad_header");
}

TEST_CASE("the algorithm is pinned to HS256") {
    SECTION("alg none, with or without a signature") {
        const std::string unsigned_token = B64(R"({"alg":"none","typ":"JWT"})") + "." + B64(Claims().dump()) + ".";
        CHECK(Check(unsigned_token) == JwtFailure::kBadAlgorithm);  // refused before the empty signature is looked at
        CHECK(Check(Mint(Claims(), json{{"alg", "none"}})) == JwtFailure::kBadAlgorithm);
        CHECK(Check(Mint(Claims(), json{{"alg", "None"}})) == JwtFailure::kBadAlgorithm);
    }
    SECTION("other algorithms, even when the MAC is HS256 over the input") {
        for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "PS256", "hs256", "HS256 ", ""}) {
            CAPTURE(alg);
            CHECK(Check(Mint(Claims(), json{{"alg", alg}})) == JwtFailure::kBadAlgorithm);
        }
    }
    SECTION("alg missing or not a string") {
        CHECK(Check(Mint(Claims(), json{{"typ", "JWT"}})) == JwtFailure::kBadAlgorithm);
        CHECK(Check(Mint(Claims(), json{{"alg", json::array({"HS256"})}})) == JwtFailure::kBadAlgorithm);
        CHECK(Check(Mint(Claims(), json{{"alg", nullptr}})) == JwtFailure::kBadAlgorithm);
    }
    SECTION("an RS256-style header with an embedded key is still refused") {
        CHECK(Check(Mint(Claims(), json{{"alg", "RS256"}, {"jwk", {{"kty", "oct"}, {"k", B64(kSecret)}}}})) ==
              JwtFailure::kBadAlgorithm);
    }
}

TEST_CASE("typ and crit headers") {
    CHECK(Check(Mint(Claims(), json{{"alg", "HS256"}, {"typ", "JWE"}})) == JwtFailure::kBadHeader);
    CHECK(Check(Mint(Claims(), json{{"alg", "HS256"}, {"typ", "at+jwt"}})) == JwtFailure::kBadHeader);
    CHECK(Check(Mint(Claims(), json{{"alg", "HS256"}, {"typ", 1}})) == JwtFailure::kBadHeader);
    CHECK(Check(Mint(Claims(), json{{"alg", "HS256"}, {"crit", {"exp"}}, {"exp", 1}})) == JwtFailure::kBadHeader);
}

TEST_CASE("the signature is checked before the claims") {
    SECTION("wrong key") {
        CHECK(Check(Mint(Claims(), json{{"alg", "HS256"}}, std::string(40, 'x'))) == JwtFailure::kBadSignature);
    }
    SECTION("tampered payload keeps the original signature") {
        const std::string good = Mint(Claims());
        const std::string forged_payload = B64(With(Claims(), "tenant", "globex").dump());
        const size_t dot1 = good.find('.');
        const size_t dot2 = good.find('.', dot1 + 1);
        const std::string forged = good.substr(0, dot1 + 1) + forged_payload + good.substr(dot2);
        CHECK(Check(forged) == JwtFailure::kBadSignature);
    }
    SECTION("tampered header") {
        const std::string good = Mint(Claims());
        const std::string forged = B64(R"({"alg":"HS256","typ":"JWT","kid":"x"})") + good.substr(good.find('.'));
        CHECK(Check(forged) == JwtFailure::kBadSignature);
    }
    SECTION("tampered, truncated or extended signature") {
        std::string good = Mint(Claims());
        std::string flipped = good;
        flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
        CHECK(Check(flipped) == JwtFailure::kBadSignature);
        CHECK(Check(good.substr(0, good.size() - 3)) == JwtFailure::kBadSignature);
        CHECK(Check(good + "AAAA") == JwtFailure::kBadSignature);
    }
    SECTION("a bad signature wins over bad claims") {
        CHECK(Check(Mint(With(Claims(), "exp", kNow - 1000), json{{"alg", "HS256"}}, std::string(40, 'y'))) ==
              JwtFailure::kBadSignature);
    }
    SECTION("a signed garbage payload is malformed, not trusted") {
        CHECK(Check(SignRaw(R"({"alg":"HS256"})", "not json")) == JwtFailure::kMalformed);
        CHECK(Check(SignRaw(R"({"alg":"HS256"})", "[1,2]")) == JwtFailure::kMalformed);
        CHECK(Check(SignRaw(R"({"alg":"HS256"})", "\"str\"")) == JwtFailure::kMalformed);
    }
}

TEST_CASE("structure and encoding") {
    const std::string good = Mint(Claims());
    CHECK(Check("") == JwtFailure::kMalformed);
    CHECK(Check("garbage") == JwtFailure::kMalformed);
    CHECK(Check("a.b") == JwtFailure::kMalformed);
    CHECK(Check("..") == JwtFailure::kMalformed);
    CHECK(Check("a.b.c.d") == JwtFailure::kMalformed);
    CHECK(Check(good + "." + good.substr(good.rfind('.') + 1)) == JwtFailure::kMalformed);  // four segments
    CHECK(Check(good + ".") == JwtFailure::kMalformed);
    CHECK(Check("." + good) == JwtFailure::kMalformed);
    CHECK(Check(" " + good) == JwtFailure::kMalformed);
    CHECK(Check(good + "==") == JwtFailure::kMalformed);  // padding is not base64url
    CHECK(Check("eyJhbGciOiJIUzI1NiJ9+.e30.abc") == JwtFailure::kMalformed);
    CHECK(Check(B64("not json") + "." + B64("{}") + ".c2ln") == JwtFailure::kMalformed);
    CHECK(Check(B64("[]") + "." + B64("{}") + ".c2ln") == JwtFailure::kMalformed);
    // Five segments: a JWE.
    CHECK(Check(B64(R"({"alg":"dir","enc":"A256GCM"})") + "..iv.cipher.tag") == JwtFailure::kMalformed);
    // Empty payload segment with a valid MAC.
    const std::string input = B64(R"({"alg":"HS256"})") + ".";
    CHECK(Check(input + "." + B64(crm::common::HmacSha256(kSecret, input))) == JwtFailure::kMalformed);
    // Binary garbage.
    std::string binary(300, '\0');
    for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37);
    CHECK(Check(binary) == JwtFailure::kMalformed);
}

TEST_CASE("duplicate JSON keys are refused") {
    CHECK(Check(SignRaw(R"({"alg":"HS256","alg":"none"})", Claims().dump())) == JwtFailure::kMalformed);
    std::string payload = Claims().dump();
    payload.insert(1, R"("tenant":"globex",)");
    CHECK(Check(SignRaw(R"({"alg":"HS256"})", payload)) == JwtFailure::kMalformed);
    // The same key in different objects is fine.
    CHECK(Check(Mint(With(Claims(), "x", json{{"tenant", 1}}))) == JwtFailure::kNone);
}

TEST_CASE("deeply nested JSON is refused") {
    std::string nested(20, '[');
    nested += std::string(20, ']');
    CHECK(Check(SignRaw(R"({"alg":"HS256"})", R"({"x":)" + nested + "}")) == JwtFailure::kMalformed);
}

TEST_CASE("size is bounded") {
    json c = Claims();
    c["pad"] = std::string(8 * 1024, 'a');
    const std::string huge = Mint(c);
    REQUIRE(huge.size() > crm::gateway::kMaxTokenBytes);
    CHECK(Check(huge) == JwtFailure::kTooLarge);
    CHECK(Check(std::string(1 << 20, 'a')) == JwtFailure::kTooLarge);
    // Just under the bound is accepted.
    json d = Claims();
    d["pad"] = "";
    const size_t base = Mint(d).size();
    d["pad"] = std::string((crm::gateway::kMaxTokenBytes - base) * 3 / 4 - 4, 'a');
    const std::string near = Mint(d);
    REQUIRE(near.size() <= crm::gateway::kMaxTokenBytes);
    CHECK(Check(near) == JwtFailure::kNone);
}

TEST_CASE("issuer and audience") {
    CHECK(Check(Mint(With(Claims(), "iss", "someone-else"))) == JwtFailure::kWrongIssuer);
    CHECK(Check(Mint(With(Claims(), "iss", "CRM-LOCAL"))) == JwtFailure::kWrongIssuer);
    CHECK(Check(Mint(With(Claims(), "iss", 5))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "aud", "other-api"))) == JwtFailure::kWrongAudience);
    CHECK(Check(Mint(With(Claims(), "aud", json::array({"a", "crm-api", "b"})))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(Claims(), "aud", json::array({"crm-api"})))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(Claims(), "aud", json::array({"a", "b"})))) == JwtFailure::kWrongAudience);
    CHECK(Check(Mint(With(Claims(), "aud", json::array()))) == JwtFailure::kWrongAudience);
    CHECK(Check(Mint(With(Claims(), "aud", json::array({"crm-api", 7})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "aud", json{{"crm-api", true}}))) == JwtFailure::kInvalidClaim);
}

TEST_CASE("required claims") {
    for (const char* name : {"iss", "aud", "exp", "sub", "tenant", "roles"}) {
        CAPTURE(name);
        CHECK(Check(Mint(Without(Claims(), name))) == JwtFailure::kMissingClaim);
        CHECK(Check(Mint(With(Claims(), name, nullptr))) == JwtFailure::kMissingClaim);
    }
}

TEST_CASE("expiry with leeway") {
    auto NoIat = [] { return Without(Claims(), "iat"); };
    // Valid while exp > now - leeway (30 s).
    CHECK(Check(Mint(With(NoIat(), "exp", kNow - 29))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(NoIat(), "exp", kNow - 30))) == JwtFailure::kExpired);
    CHECK(Check(Mint(With(NoIat(), "exp", kNow - 3600))) == JwtFailure::kExpired);
    CHECK(Check(Mint(With(NoIat(), "exp", 0))) == JwtFailure::kExpired);
    CHECK(Check(Mint(With(NoIat(), "exp", kNow + 0.5))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(NoIat(), "exp", "2030-01-01"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(NoIat(), "exp", -5))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(NoIat(), "exp", true))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(NoIat(), "exp", 1e300))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(NoIat(), "exp", std::uint64_t{18446744073709551615ULL}))) == JwtFailure::kInvalidClaim);
    // A token that expired is valid again only if the clock goes back.
    const std::string t = Mint(With(NoIat(), "exp", kNow));
    CHECK(Check(t, kNowTp + std::chrono::seconds(29)) == JwtFailure::kNone);
    CHECK(Check(t, kNowTp + std::chrono::seconds(30)) == JwtFailure::kExpired);
}

TEST_CASE("not before and issued at, with leeway") {
    CHECK(Check(Mint(With(Claims(), "nbf", kNow + 30))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(Claims(), "nbf", kNow + 31))) == JwtFailure::kNotYetValid);
    CHECK(Check(Mint(With(Claims(), "nbf", "soon"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "iat", kNow + 30))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(Claims(), "iat", kNow + 31))) == JwtFailure::kNotYetValid);
    CHECK(Check(Mint(With(With(Claims(), "iat", kNow + 20), "exp", kNow + 10))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "iat", -1))) == JwtFailure::kInvalidClaim);
    // Zero leeway.
    JwtSettings strict = Settings();
    strict.leeway = std::chrono::seconds(0);
    JwtVerifier v(strict);
    CHECK(v.Verify(Mint(With(Claims(), "exp", kNow)), kNowTp).failure == JwtFailure::kExpired);
    CHECK(v.Verify(Mint(With(Claims(), "exp", kNow + 1)), kNowTp).failure == JwtFailure::kNone);
    CHECK(v.Verify(Mint(With(Claims(), "nbf", kNow + 1)), kNowTp).failure == JwtFailure::kNotYetValid);
    CHECK(v.Verify(Mint(With(Claims(), "nbf", kNow)), kNowTp).failure == JwtFailure::kNone);
}

TEST_CASE("CRM claims are validated") {
    CHECK(Check(Mint(With(Claims(), "sub", ""))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "sub", 42))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "sub", "a b"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "sub", "line\nbreak"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "sub", std::string(257, 'u')))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "sub", std::string(256, 'u')))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(Claims(), "sub", "auth0|5f1c2d"))) == JwtFailure::kNone);

    CHECK(Check(Mint(With(Claims(), "tenant", "Acme"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "tenant", ""))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "tenant", "-acme"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "tenant", std::string(64, 'a')))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "tenant", json::array({"acme"})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "tenant", "acme-2_eu"))) == JwtFailure::kNone);

    CHECK(Check(Mint(With(Claims(), "roles", "admin"))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({"Admin"})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({"sales-rep"})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({"admin,root"})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({""})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({1})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({std::string(33, 'r')})))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "roles", json::array({std::string(32, 'r')})))) == JwtFailure::kNone);
    json sixteen = json::array(), seventeen = json::array();
    for (int i = 0; i < 16; ++i) sixteen.push_back("role_" + std::string(1, static_cast<char>('a' + i)));
    seventeen = sixteen;
    seventeen.push_back("role_q");
    CHECK(Check(Mint(With(Claims(), "roles", sixteen))) == JwtFailure::kNone);
    CHECK(Check(Mint(With(Claims(), "roles", seventeen))) == JwtFailure::kInvalidClaim);

    CHECK(Check(Mint(With(Claims(), "jti", 7))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "jti", ""))) == JwtFailure::kInvalidClaim);
    CHECK(Check(Mint(With(Claims(), "jti", std::string(129, 'j')))) == JwtFailure::kInvalidClaim);
}

TEST_CASE("a failed result carries no claims and no token text") {
    const std::string token = Mint(With(Claims(), "exp", kNow - 3600));
    auto r = JwtVerifier(Settings()).Verify(token, kNowTp);
    CHECK(r.failure == JwtFailure::kExpired);
    CHECK(r.claims.subject.empty());
    CHECK(r.claims.tenant.empty());
    CHECK(r.detail.find(token) == std::string::npos);
    CHECK_FALSE(r.detail.empty());
}

TEST_CASE("settings are validated") {
    CHECK_THROWS_AS(JwtVerifier(JwtSettings{"short", "i", "a", std::chrono::seconds(30), {}}), std::invalid_argument);
    CHECK_THROWS_AS(JwtVerifier(JwtSettings{kSecret, "", "a", std::chrono::seconds(30), {}}), std::invalid_argument);
    CHECK_THROWS_AS(JwtVerifier(JwtSettings{kSecret, "i", "", std::chrono::seconds(30), {}}), std::invalid_argument);
    CHECK_THROWS_AS(JwtVerifier(JwtSettings{kSecret, "i", "a", std::chrono::seconds(-1), {}}), std::invalid_argument);
    CHECK_THROWS_AS(JwtVerifier(JwtSettings{kSecret, "i", "a", std::chrono::seconds(301), {}}), std::invalid_argument);
    CHECK_NOTHROW(JwtVerifier(JwtSettings{kSecret, "i", "a", std::chrono::seconds(0), {}}));
}

TEST_CASE("jwt cache: a verified token is remembered until exactly when a fresh verification would refuse it") {
    using crm::gateway::JwtCache;
    using crm::gateway::JwtClaims;
    const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    JwtCache cache(64, std::chrono::seconds(30));
    JwtClaims claims;
    claims.subject = "user-1";
    claims.tenant = "acme";
    claims.roles = {"admin"};
    claims.expires_at = 1'800'000'100;
    claims.not_before = 1'800'000'000;
    cache.Insert("token-a", claims, t0);
    REQUIRE(cache.Find("token-a", t0));
    CHECK(cache.Find("token-a", t0)->tenant == "acme");
    CHECK_FALSE(cache.Find("token-b", t0));
    // exp 100 s after t0, leeway 30 s: valid until t0 + 129 s, refused from t0 + 130 s.
    CHECK(cache.Find("token-a", t0 + std::chrono::seconds(129)));
    CHECK_FALSE(cache.Find("token-a", t0 + std::chrono::seconds(130)));
    // Not yet valid beyond the leeway.
    claims.not_before = 1'800'000'040;
    cache.Insert("token-c", claims, t0);
    CHECK_FALSE(cache.Find("token-c", t0));
    CHECK(cache.Find("token-c", t0 + std::chrono::seconds(10)));
    // Bounded: far more tokens than its capacity leave it at most at its capacity.
    for (int i = 0; i < 1000; ++i) cache.Insert("t-" + std::to_string(i), claims, t0);
    CHECK(cache.size() <= 64);
}
