#include "crm/common/config.hpp"

#include <catch2/catch.hpp>

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
