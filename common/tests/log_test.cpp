#include "crm/common/log.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace crm::common;

TEST_CASE("a log line is one JSON object with the standard keys") {
    std::string line = log::Format(log::Level::kWarn, "contacts", "rpc failed", {{"rpc", "GetContact"}, {"code", "X"}});
    CHECK(line.find('\n') == std::string::npos);
    auto doc = nlohmann::json::parse(line);
    CHECK(doc["level"] == "warn");
    CHECK(doc["service"] == "contacts");
    CHECK(doc["message"] == "rpc failed");
    CHECK(doc["rpc"] == "GetContact");
    CHECK(doc["time"].get<std::string>().back() == 'Z');
}

TEST_CASE("log lines escape control characters and survive invalid UTF-8") {
    std::string line = log::Format(log::Level::kInfo, "s", "a\nb\"c", {{"k", std::string("\xff\xfe")}});
    CHECK(line.find('\n') == std::string::npos);
    CHECK_NOTHROW(nlohmann::json::parse(line));
}

TEST_CASE("log levels parse") {
    CHECK(log::ParseLevel("debug") == log::Level::kDebug);
    CHECK(log::ParseLevel("error") == log::Level::kError);
    CHECK_THROWS(log::ParseLevel("loud"));
}
