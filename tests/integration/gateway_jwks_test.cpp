// ES256 tokens through the running gateway, with the public key from the JWKS file the stack writes
// (deploy/local/stack: $CRM_LOCAL_DIR/jwt/jwks.json, private key es256-1.pem beside it): accepted; signed by another
// key, claiming HS256, or naming an unknown kid: UNAUTHENTICATED; a key added to the JWKS (rotation) is accepted
// once the gateway refreshed the set on the unknown kid.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../support/contacts_client.hpp"

using namespace crm::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using Key = std::shared_ptr<EVP_PKEY>;

Key LoadKey(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    REQUIRE(f != nullptr);
    EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    REQUIRE(k != nullptr);
    return Key(k, EVP_PKEY_free);
}

Key NewKey() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free); }

std::string Coordinate(EVP_PKEY* k, const char* name) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(k, name, &bn) == 1);
    std::string out(32, '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_free(bn);
    return out;
}

json Jwk(const Key& k, const std::string& kid) {
    return json{{"kty", "EC"},
                {"crv", "P-256"},
                {"use", "sig"},
                {"alg", "ES256"},
                {"kid", kid},
                {"x", crm::common::Base64UrlEncode(Coordinate(k.get(), OSSL_PKEY_PARAM_EC_PUB_X))},
                {"y", crm::common::Base64UrlEncode(Coordinate(k.get(), OSSL_PKEY_PARAM_EC_PUB_Y))}};
}

// A JWS signature in the ES256 form: r || s.
std::string SignEs256(const Key& k, const std::string& input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k.get());
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string der(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return raw;
}

json Claims(const std::string& tenant) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return json{{"iss", RequireEnv("CRM_TEST_JWT_ES256_ISSUER")},
                {"aud", RequireEnv("CRM_JWT_AUDIENCE")},
                {"sub", "es256-user"},
                {"tenant", tenant},
                {"roles", {"admin"}},
                {"iat", now},
                {"nbf", now},
                {"exp", now + 600}};
}

std::string Mint(const Key& k, const std::string& kid, const json& claims) {
    const std::string input =
        crm::common::Base64UrlEncode(json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", kid}}.dump()) + "." +
        crm::common::Base64UrlEncode(claims.dump());
    return input + "." + crm::common::Base64UrlEncode(SignEs256(k, input));
}

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void WriteAtomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".test-tmp";
    std::ofstream(tmp) << text;
    REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
}

grpc::Status List(const std::string& token) { return ContactsClient(token).ListContacts({}).status; }

}  // namespace

TEST_CASE("gateway JWKS: an ES256 token verified with the stack's JWKS is served, forgeries are not",
          "[integration][gateway][jwks]") {
    const Key key = LoadKey(RequireEnv("CRM_TEST_JWT_ES256_KEY"));
    const std::string tenant = UniqueTenant();

    const std::string good = Mint(key, "es256-1", Claims(tenant));
    ContactsClient api(good);
    cv1::CreateContactRequest create;
    create.mutable_contact()->set_given_name("Jwks");
    create.mutable_contact()->set_family_name("Person");
    auto created = api.CreateContact(create);
    REQUIRE(created.status.ok());
    cv1::GetContactRequest get;
    get.set_id(created.response.contact().id());
    CHECK(api.GetContact(get).ok());

    // Another key under the published kid.
    const grpc::Status forged = List(Mint(NewKey(), "es256-1", Claims(tenant)));
    CHECK(forged.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // Expired beyond the skew, and not yet valid.
    json expired = Claims(tenant);
    expired["exp"] = expired["iat"].get<long>() - 120;
    expired["iat"] = expired["exp"].get<long>() - 60;
    expired["nbf"] = expired["iat"];
    CHECK(List(Mint(key, "es256-1", expired)).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    json early = Claims(tenant);
    early["nbf"] = early["nbf"].get<long>() + 3600;
    CHECK(List(Mint(key, "es256-1", early)).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // Wrong audience for this issuer.
    json aud = Claims(tenant);
    aud["aud"] = "someone-else";
    CHECK(List(Mint(key, "es256-1", aud)).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // Algorithm confusion: HS256 over the ES256 issuer's claims, keyed with its public JWK.
    const std::string jwks_text = ReadFile(RequireEnv("CRM_TEST_JWKS_FILE"));
    const std::string input = crm::common::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT","kid":"es256-1"})") + "." +
                              crm::common::Base64UrlEncode(Claims(tenant).dump());
    const std::string confused = input + "." + crm::common::Base64UrlEncode(crm::common::HmacSha256(jwks_text, input));
    CHECK(List(confused).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // The HS256 development tokens work as before, side by side.
    CHECK(List(TokenFor(tenant)).ok());
}

TEST_CASE("gateway JWKS: a key added to the JWKS (rotation) is accepted after the refresh its unknown kid causes",
          "[integration][gateway][jwks]") {
    const std::string path = RequireEnv("CRM_TEST_JWKS_FILE");
    const std::string original = ReadFile(path);
    REQUIRE_FALSE(original.empty());
    const Key rotated = NewKey();
    const std::string kid = "rotated-" + crm::common::NewUuid();
    const std::string tenant = UniqueTenant();
    const std::string token = Mint(rotated, kid, Claims(tenant));

    const grpc::Status before = List(token);
    CHECK(before.error_code() == grpc::StatusCode::UNAUTHENTICATED);

    json jwks = json::parse(original);
    jwks["keys"].push_back(Jwk(rotated, kid));
    WriteAtomically(path, jwks.dump());
    // The gateway refreshes on an unknown kid at most once a second in the stack (CRM_JWKS_MIN_REFRESH_SECONDS=1).
    grpc::Status after;
    const auto until = std::chrono::steady_clock::now() + 10s;
    do {
        std::this_thread::sleep_for(300ms);
        after = List(token);
    } while (!after.ok() && std::chrono::steady_clock::now() < until);
    WriteAtomically(path, original);
    CHECK(after.ok());
    // The original key still works after the rotation.
    CHECK(List(Mint(LoadKey(RequireEnv("CRM_TEST_JWT_ES256_KEY")), "es256-1", Claims(tenant))).ok());
}

TEST_CASE("gateway JWKS: keys loaded, refreshes and authentication outcomes are in the gateway's metrics",
          "[integration][gateway][jwks]") {
    const std::string issuer = "issuer=\"" + RequireEnv("CRM_TEST_JWT_ES256_ISSUER") + "\"";
    const std::string before = ScrapeMetrics(RequireEnv("CRM_TEST_GATEWAY_METRICS"));
    const double unknown_before =
        MetricSample(before, "crm_gateway_auth_failures_total", {"credential=\"jwt\"", "reason=\"unknown_key\""});
    const double ok_before =
        std::max(0.0, MetricSample(before, "crm_gateway_authenticated_total", {"credential=\"jwt\""}));
    CHECK(MetricSample(before, "crm_gateway_jwks_keys", {issuer}) >= 1);
    CHECK(MetricSample(before, "crm_gateway_jwks_refreshes_total", {issuer, "outcome=\"ok\""}) >= 1);

    const std::string tenant = UniqueTenant();
    CHECK(List(Mint(NewKey(), "never-published-" + crm::common::NewUuid(), Claims(tenant))).error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
    CHECK(List(Mint(LoadKey(RequireEnv("CRM_TEST_JWT_ES256_KEY")), "es256-1", Claims(tenant))).ok());
    const std::string after = ScrapeMetrics(RequireEnv("CRM_TEST_GATEWAY_METRICS"));
    CHECK(MetricSample(after, "crm_gateway_auth_failures_total", {"credential=\"jwt\"", "reason=\"unknown_key\""}) ==
          std::max(0.0, unknown_before) + 1);
    CHECK(MetricSample(after, "crm_gateway_authenticated_total", {"credential=\"jwt\""}) >= ok_before + 1);
}
