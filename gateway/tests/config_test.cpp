#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "crm/common/service.hpp"
#include "register.hpp"

using crm::common::Config;
using crm::common::ConfigError;

namespace {

Config Load(std::map<std::string, std::string> env) {
    crm::common::ServiceOptions o{.name = "gateway",
                                  .grpc_port = 50050,
                                  .metrics_port = 9150,
                                  .uses_database = false,
                                  .uses_kafka = false,
                                  .extra_vars = crm::gateway::ConfigVars(),
                                  .summary = ""};
    Config c("crm-gateway", "test", crm::common::StandardVars(o));
    c.Load(env);
    return c;
}

const std::string kLocalPolicy = std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json";

std::map<std::string, std::string> Env() {
    return {{"CRM_INTERNAL_KEY", "internal-key-0123456789abcdef-0123"},
            {"CRM_JWT_HS256_SECRET", "jwt-secret-0123456789abcdef-012345"},
            {"CRM_ROUTES", "crm.contacts.v1=127.0.0.1:50051"},
            {"CRM_GATEWAY_POLICY_FILE", kLocalPolicy}};
}

// A policy file in the temporary directory, removed at the end of the test.
struct TempPolicy {
    std::string path = "/tmp/crm-gateway-policy-test-" + std::to_string(::getpid()) + ".json";
    explicit TempPolicy(const std::string& text) { std::ofstream(path) << text; }
    ~TempPolicy() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("defaults of the gateway settings") {
    auto g = crm::gateway::SettingsFromConfig(Load(Env()));
    const auto& s = g.admission;
    CHECK(s.jwt.issuer == "crm-local");
    CHECK(s.jwt.audience == "crm-api");
    CHECK(s.jwt.leeway == std::chrono::seconds(30));
    CHECK(g.proxy.default_deadline == std::chrono::milliseconds(15000));
    CHECK(s.internal_key == "internal-key-0123456789abcdef-0123");
    REQUIRE(g.proxy.routes.routes().size() == 1);
    CHECK(g.proxy.routes.routes()[0].target == "127.0.0.1:50051");
    CHECK(s.default_rate_limit == crm::gateway::RateLimit{50, 100});
    CHECK(s.fail_mode == crm::gateway::FailMode::kOpen);
    CHECK(s.limiter == nullptr);  // Register creates it
    CHECK(s.policy.Allows("crm.contacts.v1.ContactsService", "GetContact", {"read_only"}));
    CHECK(g.redis.host == "127.0.0.1");
    CHECK(g.redis.port == 6379);
    CHECK(g.redis.database == 0);
    CHECK(g.redis.timeout == std::chrono::milliseconds(50));
    CHECK(g.redis.pool_size == 8);
}

TEST_CASE("rate-limit and Redis settings") {
    auto env = Env();
    env["CRM_RATE_LIMIT_DEFAULT"] = "0.5:3";
    env["CRM_RATE_LIMIT_FAIL_MODE"] = "closed";
    env["CRM_REDIS_URL"] = "redis://:s3cret@redis.crm.svc:6380/2";
    env["CRM_REDIS_TIMEOUT_MS"] = "20";
    env["CRM_REDIS_POOL_SIZE"] = "4";
    auto g = crm::gateway::SettingsFromConfig(Load(env));
    CHECK(g.admission.default_rate_limit == crm::gateway::RateLimit{0.5, 3});
    CHECK(g.admission.fail_mode == crm::gateway::FailMode::kClosed);
    CHECK(g.redis.host == "redis.crm.svc");
    CHECK(g.redis.port == 6380);
    CHECK(g.redis.password == "s3cret");
    CHECK(g.redis.database == 2);
    CHECK(g.redis.timeout == std::chrono::milliseconds(20));
    CHECK(g.redis.pool_size == 4);
    CHECK(g.redis.Describe() == "redis.crm.svc:6380/2");
}

TEST_CASE("Redis URLs") {
    using crm::gateway::RedisSettings;
    auto s = RedisSettings::FromUrl("redis://localhost");
    CHECK(s.host == "localhost");
    CHECK(s.port == 6379);
    CHECK(s.username.empty());
    CHECK(s.password.empty());
    s = RedisSettings::FromUrl("redis://gateway:pa:ss@10.0.0.1:7000/15");
    CHECK(s.username == "gateway");
    CHECK(s.password == "pa:ss");
    CHECK(s.host == "10.0.0.1");
    CHECK(s.port == 7000);
    CHECK(s.database == 15);
    s = RedisSettings::FromUrl("redis://[::1]:6390");
    CHECK(s.host == "::1");
    CHECK(s.port == 6390);
    CHECK(s.Describe() == "[::1]:6390/0");
    for (const char* bad : {"", "127.0.0.1:6379", "rediss://h:6379", "http://h", "redis://", "redis://:6379",
                            "redis://h:0", "redis://h:65536", "redis://h:port", "redis://h/16", "redis://h/x",
                            "redis://secret@h", "redis://:@h", "redis://[::1", "redis://[::1]x", "redis://h h"}) {
        INFO(bad);
        CHECK_THROWS_AS(RedisSettings::FromUrl(bad), std::invalid_argument);
    }
    try {
        RedisSettings::FromUrl("redis://user:topsecret@h:bad");
        FAIL("expected invalid_argument");
    } catch (const std::invalid_argument& e) {
        CHECK_THAT(e.what(), !Catch::Contains("topsecret"));
    }
}

TEST_CASE("the policy file is required and its problems are configuration errors, all of them") {
    auto env = Env();
    env.erase("CRM_GATEWAY_POLICY_FILE");
    CHECK_THROWS_AS(Load(env), ConfigError);

    TempPolicy policy(R"({"rules": [{"roles": ["admin", "root"], "methods": ["crm.contacts.v1.ContactsService/Get*",
                          "crm.contacts.v1.ContactsService/GetContacts"]}]})");
    env = Env();
    env["CRM_GATEWAY_POLICY_FILE"] = policy.path;
    env["CRM_ROUTES"] = "nonsense";
    try {
        crm::gateway::SettingsFromConfig(Load(env));
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        const std::string m = e.what();
        CHECK_THAT(m, Catch::Contains("CRM_ROUTES"));
        CHECK_THAT(m, Catch::Contains("CRM_GATEWAY_POLICY_FILE " + policy.path + ": rules[0].roles[1]: unknown role"));
        CHECK_THAT(m, Catch::Contains("rules[0].methods[0]: \"crm.contacts.v1.ContactsService/Get*\" is not a method"));
        // The contacts descriptors are linked into this test, as into the gateway: a misspelt method is caught.
        CHECK_THAT(m, Catch::Contains("rules[0].methods[1]: crm.contacts.v1.ContactsService has no method"));
    }
    env["CRM_GATEWAY_POLICY_FILE"] = "/nonexistent/policy.json";
    CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(env)),
                      Catch::Contains("cannot read /nonexistent/policy.json"));
}

TEST_CASE("a JWT issuer and the routes are required") {
    auto env = Env();
    env.erase("CRM_JWT_HS256_SECRET");
    CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(env)), Catch::Contains("at least one JWT issuer"));
    env = Env();
    env.erase("CRM_ROUTES");
    CHECK_THROWS_AS(Load(env), ConfigError);
}

TEST_CASE("every gateway problem is reported at once") {
    auto env = Env();
    env["CRM_JWT_HS256_SECRET"] = "too-short";
    env["CRM_ROUTES"] = "crm.contacts.v1";
    env["CRM_JWT_LEEWAY_SECONDS"] = "9999";
    env["CRM_GATEWAY_DEFAULT_DEADLINE_MS"] = "soon";
    env["CRM_RATE_LIMIT_DEFAULT"] = "fast";
    env["CRM_RATE_LIMIT_FAIL_MODE"] = "maybe";
    env["CRM_REDIS_URL"] = "redis://:hunter2@h:99999";
    env["CRM_REDIS_TIMEOUT_MS"] = "0";
    env["CRM_REDIS_POOL_SIZE"] = "1000";
    try {
        crm::gateway::SettingsFromConfig(Load(env));
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        const std::string m = e.what();
        CHECK_THAT(m, Catch::Contains("CRM_JWT_HS256_SECRET"));
        CHECK_THAT(m, Catch::Contains("CRM_ROUTES"));
        CHECK_THAT(m, Catch::Contains("CRM_JWT_LEEWAY_SECONDS"));
        CHECK_THAT(m, Catch::Contains("CRM_GATEWAY_DEFAULT_DEADLINE_MS"));
        CHECK_THAT(m, Catch::Contains("CRM_RATE_LIMIT_DEFAULT"));
        CHECK_THAT(m, Catch::Contains("CRM_RATE_LIMIT_FAIL_MODE"));
        CHECK_THAT(m, Catch::Contains("CRM_REDIS_URL"));
        CHECK_THAT(m, Catch::Contains("CRM_REDIS_TIMEOUT_MS"));
        CHECK_THAT(m, Catch::Contains("CRM_REDIS_POOL_SIZE"));
        CHECK_THAT(m, !Catch::Contains("too-short"));  // secrets are never echoed
        CHECK_THAT(m, !Catch::Contains("hunter2"));
    }
}

TEST_CASE("the JWT secret must differ from the internal key") {
    auto env = Env();
    env["CRM_JWT_HS256_SECRET"] = env["CRM_INTERNAL_KEY"];
    CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(env)), Catch::Contains("must differ"));
}

TEST_CASE("secrets are marked secret for --help and logs") {
    for (const auto& v : crm::gateway::ConfigVars()) {
        if (v.name == "CRM_JWT_HS256_SECRET") {
            CHECK(v.secret);
            CHECK_FALSE(v.required);  // a deployment may trust only public-key issuers (CRM_JWT_ISSUERS)
        }
        if (v.name == "CRM_ROUTES") CHECK(v.required);
    }
}

TEST_CASE("public-key issuers from CRM_JWT_ISSUERS") {
    auto env = Env();
    env["CRM_JWT_ISSUERS"] =
        R"([{"issuer":"https://idp.example","audience":"crm-api","algorithms":["RS256","ES256"],)"
        R"("jwks":"/etc/crm/jwks.json"},{"issuer":"https://b.example","audience":"x","algorithms":["ES256"],)"
        R"("jwks":"https://b.example/jwks"}])";
    env["CRM_JWKS_REFRESH_SECONDS"] = "60";
    auto g = crm::gateway::SettingsFromConfig(Load(env));
    REQUIRE(g.admission.jwt.issuers.size() == 2);
    const auto& i = g.admission.jwt.issuers[0];
    CHECK(i.issuer == "https://idp.example");
    CHECK(i.algorithms == std::vector<crm::gateway::JwtAlgorithm>{crm::gateway::JwtAlgorithm::kRS256,
                                                                  crm::gateway::JwtAlgorithm::kES256});
    REQUIRE(i.keys != nullptr);
    const auto* cache = dynamic_cast<const crm::gateway::JwksCache*>(i.keys.get());
    REQUIRE(cache != nullptr);
    CHECK(cache->settings().refresh_interval == std::chrono::seconds(60));
    CHECK(cache->size() == 0);  // nothing loaded before Register: no I/O here

    // Only public-key issuers: no HS256 secret needed.
    env.erase("CRM_JWT_HS256_SECRET");
    CHECK_NOTHROW(crm::gateway::SettingsFromConfig(Load(env)));

    for (const auto& [bad, message] : std::vector<std::pair<std::string, std::string>>{
             {"{", "not valid JSON"},
             {"[]", "non-empty JSON array"},
             {R"([{"issuer":"a","audience":"b","algorithms":["HS256"],"jwks":"/k"}])", "is not RS256 or ES256"},
             {R"([{"issuer":"a","audience":"b","algorithms":["none"],"jwks":"/k"}])", "is not RS256 or ES256"},
             {R"([{"issuer":"a","audience":"b","algorithms":["RS256"],"jwks":"relative"}])", ".jwks:"},
             {R"([{"issuer":"a","algorithms":["RS256"],"jwks":"/k"}])", ".audience: a non-empty string"},
             {R"([{"issuer":"a","audience":"b","algorithms":["RS256"],"jwks":"/k","x":1}])", "unknown key x"},
             {R"([{"issuer":"crm-local","audience":"b","algorithms":["RS256"],"jwks":"/k"}])",
              "is also CRM_JWT_ISSUER"},
             {R"([{"issuer":"a","audience":"b","algorithms":["RS256"],"jwks":"/k"},)"
              R"({"issuer":"a","audience":"b","algorithms":["RS256"],"jwks":"/k"}])",
              "named twice"}}) {
        auto e = Env();
        e["CRM_JWT_ISSUERS"] = bad;
        CAPTURE(bad);
        CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(e)), Catch::Contains(message));
    }
}

TEST_CASE("TLS toward the services: files checked at start, settings consistent") {
    auto env = Env();
    CHECK(crm::gateway::SettingsFromConfig(Load(env)).proxy.upstream_tls.empty());  // plaintext by default

    env["CRM_UPSTREAM_TLS_CA_FILE"] = "/nonexistent/ca.pem";
    CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(env)), Catch::Contains("cannot read /nonexistent/ca.pem"));

    TempPolicy ca("-----BEGIN CERTIFICATE-----\n");  // any readable, non-empty file
    env["CRM_UPSTREAM_TLS_CA_FILE"] = ca.path;
    env["CRM_UPSTREAM_TLS_SERVER_NAME"] = "contacts.crm.svc";
    const auto g = crm::gateway::SettingsFromConfig(Load(env));
    CHECK(g.proxy.upstream_tls.ca_file == ca.path);
    CHECK(g.proxy.upstream_server_name == "contacts.crm.svc");

    env["CRM_UPSTREAM_TLS_CERT_FILE"] = ca.path;  // a certificate without its key
    CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(env)), Catch::Contains("set both or neither"));

    auto plain = Env();
    plain["CRM_UPSTREAM_TLS_SERVER_NAME"] = "contacts";
    CHECK_THROWS_WITH(crm::gateway::SettingsFromConfig(Load(plain)), Catch::Contains("only meaningful"));
}
