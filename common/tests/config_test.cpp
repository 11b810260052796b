#include "crm/common/config.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "crm/common/tls.hpp"

using crm::common::Config;
using crm::common::ConfigError;

namespace {
Config Make() {
    return Config("crm-test", "test service",
                  {{"A_PORT", "a port", "8080"},
                   {"A_SECRET", "a secret", "", true, true},
                   {"A_LIST", "a list", "x, y ,z"},
                   {"A_FLAG", "a flag", "false"}});
}
}  // namespace

TEST_CASE("config applies defaults and reads values") {
    Config c = Make();
    c.Load({{"A_SECRET", "s3cret"}, {"A_FLAG", "true"}});
    CHECK(c.GetInt("A_PORT", 1, 65535) == 8080);
    CHECK(c.Get("A_SECRET") == "s3cret");
    CHECK(c.GetBool("A_FLAG"));
    CHECK(c.GetList("A_LIST") == std::vector<std::string>{"x", "y", "z"});
}

TEST_CASE("config reports every missing required variable at once") {
    Config c = Make();
    try {
        c.Load({});
        FAIL("expected ConfigError");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).find("A_SECRET is required") != std::string::npos);
    }
}

TEST_CASE("config rejects out-of-range and malformed integers with the variable name") {
    Config c = Make();
    c.Load({{"A_SECRET", "x"}, {"A_PORT", "70000"}});
    CHECK_THROWS_WITH(c.GetInt("A_PORT", 1, 65535), Catch::Contains("A_PORT must be an integer from 1 to 65535"));
    c.Load({{"A_SECRET", "x"}, {"A_PORT", "80x"}});
    CHECK_THROWS_AS(c.GetInt("A_PORT", 1, 65535), ConfigError);
    c.Load({{"A_SECRET", "x"}, {"A_FLAG", "maybe"}});
    CHECK_THROWS_AS(c.GetBool("A_FLAG"), ConfigError);
}

TEST_CASE("help lists variables and hides secret defaults") {
    Config c("crm-x", "summary", {{"S", "secret thing", "do-not-print", false, true}, {"P", "port", "1"}});
    const std::string help = c.Help();
    CHECK(help.find("S\n") != std::string::npos);
    CHECK(help.find("do-not-print") == std::string::npos);
    CHECK(help.find("default: 1") != std::string::npos);
}

TEST_CASE("client TLS settings: three variables under a prefix, certificate and key both or neither") {
    const auto vars = crm::common::ClientTlsVars("X_TLS_", "contacts");
    REQUIRE(vars.size() == 3);
    CHECK(vars[0].name == "X_TLS_CA_FILE");
    CHECK(vars[1].name == "X_TLS_CERT_FILE");
    CHECK(vars[2].name == "X_TLS_KEY_FILE");
    CHECK(vars[1].help.find("contacts") != std::string::npos);
    const auto load = [&](const std::map<std::string, std::string>& env) {
        Config c("crm-test", "test service", vars);
        c.Load(env);
        return crm::common::ClientTlsFiles(c, "X_TLS_");
    };
    CHECK(load({}).empty());
    const auto mutual = load({{"X_TLS_CA_FILE", "ca.pem"}, {"X_TLS_CERT_FILE", "c.pem"}, {"X_TLS_KEY_FILE", "k.pem"}});
    CHECK(mutual.ca_file == "ca.pem");
    CHECK(mutual.cert_file == "c.pem");
    CHECK(mutual.key_file == "k.pem");
    CHECK(load({{"X_TLS_CA_FILE", "ca.pem"}}).cert_file.empty());
    CHECK_THROWS_AS(load({{"X_TLS_CERT_FILE", "c.pem"}}), ConfigError);
    CHECK_THROWS_WITH(load({{"X_TLS_KEY_FILE", "k.pem"}}), Catch::Contains("set both or neither"));
}
