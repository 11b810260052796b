#include "crm/common/resource.hpp"

#include <catch2/catch.hpp>

using namespace crm::common;

TEST_CASE("etags round-trip and refuse anything else") {
    CHECK(MakeEtag(1) == "v1");
    CHECK(MakeEtag(1234567890123) == "v1234567890123");
    CHECK(ParseEtag("v7") == 7);
    CHECK(ParseEtag(MakeEtag(42)) == 42);
    CHECK_FALSE(ParseEtag(""));
    CHECK_FALSE(ParseEtag("v"));
    CHECK_FALSE(ParseEtag("7"));
    CHECK_FALSE(ParseEtag("v-1"));
    CHECK_FALSE(ParseEtag("v1x"));
    CHECK_FALSE(ParseEtag("v99999999999999999999"));
}

TEST_CASE("ids must be UUIDs and come back lowercased") {
    Violations v;
    CHECK(CheckId(v, "7B0E4A52-8D0E-4C3C-9A55-1C1B7F1F0A01", "id") == "7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01");
    CHECK(v.empty());
    CHECK(CheckId(v, "", "id").empty());
    CHECK(CheckId(v, "{7b0e4a52-8d0e-4c3c-9a55-1c1b7f1f0a01}", "contact_id").empty());
    CHECK(CheckId(v, "' OR 1=1 --                         ", "x").empty());
    REQUIRE(v.list().size() == 3);
    CHECK(v.list()[0] == FieldViolation{"id", "is required"});
    CHECK(v.list()[1] == FieldViolation{"contact_id", "must be a UUID"});
}

TEST_CASE("request ids are optional, short and printable") {
    Violations v;
    CheckRequestId(v, "");
    CheckRequestId(v, "retry-key-1");
    CHECK(v.empty());
    CheckRequestId(v, std::string(65, 'r'));
    CheckRequestId(v, "has space");
    CHECK(v.list().size() == 2);
    CHECK(v.list()[0].field == "request_id");
}

TEST_CASE("etag check: empty passes, the current one passes, any other is ABORTED") {
    CHECK_NOTHROW(CheckEtag("", 3));
    CHECK_NOTHROW(CheckEtag("v3", 3));
    try {
        CheckEtag("v2", 3);
        FAIL("stale etag accepted");
    } catch (const ApiError& e) {
        CHECK(e.code() == grpc::StatusCode::ABORTED);
        CHECK(e.reason() == "ETAG_MISMATCH");
    }
    CHECK_THROWS_AS(CheckEtag("3", 3), ApiError);
}
