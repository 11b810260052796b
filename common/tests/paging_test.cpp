#include "crm/common/paging.hpp"

#include <catch2/catch.hpp>

#include "crm/common/errors.hpp"

using namespace crm::common;

namespace {
std::string FieldOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const ApiError& e) {
        REQUIRE(e.code() == grpc::StatusCode::INVALID_ARGUMENT);
        REQUIRE_FALSE(e.violations().empty());
        return e.violations().front().field;
    }
    return "";
}
}  // namespace

TEST_CASE("page size: default, cap, negative refused") {
    CHECK(ResolvePageSize(0) == kDefaultPageSize);
    CHECK(ResolvePageSize(10) == 10);
    CHECK(ResolvePageSize(100000) == kMaxPageSize);
    CHECK(FieldOf([] { ResolvePageSize(-1); }) == "page_size");
}

TEST_CASE("page tokens round-trip and are bound to their query") {
    std::string token = EncodePageToken("ListContacts|tag=vip", {"2026-01-01T00:00:00Z", "id-1"});
    CHECK(DecodePageToken(token, "ListContacts|tag=vip", 2) ==
          std::vector<std::string>{"2026-01-01T00:00:00Z", "id-1"});
    CHECK(DecodePageToken("", "anything", 2).empty());
    CHECK(FieldOf([&] { DecodePageToken(token, "ListContacts|tag=other", 2); }) == "page_token");
    CHECK(FieldOf([&] { DecodePageToken(token, "ListContacts|tag=vip", 3); }) == "page_token");
    CHECK(FieldOf([] { DecodePageToken("!!!", "x", 1); }) == "page_token");
    CHECK(FieldOf([] { DecodePageToken("bm90IGpzb24", "x", 1); }) == "page_token");  // "not json"
    CHECK(FieldOf([] { DecodePageToken(std::string(5000, 'a'), "x", 1); }) == "page_token");
}

TEST_CASE("update masks are checked against allowed paths") {
    CHECK_NOTHROW(ValidateUpdateMask({"email", "phone"}, {"email", "phone", "tags"}));
    CHECK(FieldOf([] { ValidateUpdateMask({"id"}, {"email"}); }) == "update_mask");
    CHECK(FieldOf([] { ValidateUpdateMask({}, {"email"}); }) == "update_mask");
    CHECK(FieldOf([] { ValidateUpdateMask({"email", "email"}, {"email"}); }) == "update_mask");
}
