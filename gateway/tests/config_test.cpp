#include <catch2/catch.hpp>
#include <map>

#include "crm/common/service.hpp"
#include "gateway.hpp"

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

std::map<std::string, std::string> Env() {
    return {{"CRM_INTERNAL_KEY", "internal-key-0123456789abcdef-0123"},
            {"CRM_JWT_HS256_SECRET", "jwt-secret-0123456789abcdef-012345"},
            {"CRM_ROUTES", "crm.contacts.v1=127.0.0.1:50051"}};
}

}  // namespace

TEST_CASE("defaults of the gateway settings") {
    auto s = crm::gateway::SettingsFromConfig(Load(Env()));
    CHECK(s.jwt.issuer == "crm-local");
    CHECK(s.jwt.audience == "crm-api");
    CHECK(s.jwt.leeway == std::chrono::seconds(30));
    CHECK(s.default_deadline == std::chrono::milliseconds(15000));
    CHECK(s.internal_key == "internal-key-0123456789abcdef-0123");
    REQUIRE(s.routes.routes().size() == 1);
    CHECK(s.routes.routes()[0].target == "127.0.0.1:50051");
}

TEST_CASE("the JWT secret and the routes are required") {
    auto env = Env();
    env.erase("CRM_JWT_HS256_SECRET");
    CHECK_THROWS_AS(Load(env), ConfigError);
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
    try {
        crm::gateway::SettingsFromConfig(Load(env));
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        const std::string m = e.what();
        CHECK_THAT(m, Catch::Contains("CRM_JWT_HS256_SECRET"));
        CHECK_THAT(m, Catch::Contains("CRM_ROUTES"));
        CHECK_THAT(m, Catch::Contains("CRM_JWT_LEEWAY_SECONDS"));
        CHECK_THAT(m, Catch::Contains("CRM_GATEWAY_DEFAULT_DEADLINE_MS"));
        CHECK_THAT(m, !Catch::Contains("too-short"));  // secrets are never echoed
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
            CHECK(v.required);
        }
        if (v.name == "CRM_ROUTES") CHECK(v.required);
    }
}
