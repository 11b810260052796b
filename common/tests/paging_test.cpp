#include "crm/common/paging.hpp"

#include <catch2/catch.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/violations.hpp"

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

TEST_CASE("page tokens round-trip and are bound to their tenant and query") {
    std::string token = EncodePageToken("acme", "ListContacts|tag=vip", {"2026-01-01T00:00:00Z", "id-1"});
    CHECK(DecodePageToken(token, "acme", "ListContacts|tag=vip", 2) ==
          std::vector<std::string>{"2026-01-01T00:00:00Z", "id-1"});
    CHECK(DecodePageToken("", "acme", "anything", 2).empty());
    CHECK(FieldOf([&] { DecodePageToken(token, "acme", "ListContacts|tag=other", 2); }) == "page_token");
    CHECK(FieldOf([&] { DecodePageToken(token, "globex", "ListContacts|tag=vip", 2); }) == "page_token");
    CHECK(FieldOf([&] { DecodePageToken(token, "acme", "ListContacts|tag=vip", 3); }) == "page_token");
    CHECK(FieldOf([] { DecodePageToken("!!!", "acme", "x", 1); }) == "page_token");
    CHECK(FieldOf([] { DecodePageToken("bm90IGpzb24", "acme", "x", 1); }) == "page_token");  // "not json", unsigned
    CHECK(FieldOf([] { DecodePageToken(std::string(5000, 'a'), "acme", "x", 1); }) == "page_token");
}

TEST_CASE("a page token altered by hand is refused, even with a well-formed payload") {
    const std::string token = EncodePageToken("acme", "q", {"100", "00000000-0000-4000-8000-000000000001"});
    const std::size_t dot = token.find('.');
    REQUIRE(dot != std::string::npos);
    // Same signature, another position in the keyset.
    const std::string forged_payload = Base64UrlEncode(R"([2,"0","00000000-0000-4000-8000-000000000001"])");
    CHECK(FieldOf([&] { DecodePageToken(forged_payload + token.substr(dot), "acme", "q", 2); }) == "page_token");
    // Every single-character change of the signature.
    for (std::size_t i = dot + 1; i < token.size(); ++i) {
        std::string t = token;
        t[i] = t[i] == 'A' ? 'B' : 'A';
        CHECK(FieldOf([&] { DecodePageToken(t, "acme", "q", 2); }) == "page_token");
    }
}

TEST_CASE("page tokens are signed with the installed key: another key refuses them") {
    SetPageTokenKey("key-one-key-one-key-one-key-one-1");
    const std::string token = EncodePageToken("acme", "q", {"1"});
    CHECK(DecodePageToken(token, "acme", "q", 1) == std::vector<std::string>{"1"});
    SetPageTokenKey("key-two-key-two-key-two-key-two-2");
    CHECK(FieldOf([&] { DecodePageToken(token, "acme", "q", 1); }) == "page_token");
    SetPageTokenKey("key-one-key-one-key-one-key-one-1");  // a replica with the same key accepts it again
    CHECK(DecodePageToken(token, "acme", "q", 1) == std::vector<std::string>{"1"});
}

TEST_CASE("time/id keysets: start positions, round trip, malformed keys") {
    const TimeIdKey asc = DecodeTimeIdToken("", "acme", "q", SortOrder::kAscending);
    const TimeIdKey desc = DecodeTimeIdToken("", "acme", "q", SortOrder::kDescending);
    CHECK(asc.micros < -62000000000000000);
    CHECK(asc.id == "00000000-0000-0000-0000-000000000000");
    CHECK(desc.micros > 253000000000000000);
    CHECK(desc.id == "ffffffff-ffff-ffff-ffff-ffffffffffff");
    const TimeIdKey key{1767225600000000, "5f0c3e1a-8a4b-4c7e-9d2f-1b2c3d4e5f60"};
    CHECK(DecodeTimeIdToken(EncodeTimeIdToken("acme", "q", key), "acme", "q", SortOrder::kAscending) == key);
    CHECK(FieldOf([] {
              DecodeTimeIdToken(EncodePageToken("acme", "q", {"12x", "5f0c3e1a-8a4b-4c7e-9d2f-1b2c3d4e5f60"}), "acme",
                                "q", SortOrder::kAscending);
          }) == "page_token");
    CHECK(FieldOf([] {
              DecodeTimeIdToken(EncodePageToken("acme", "q", {"12", "not-a-uuid"}), "acme", "q", SortOrder::kAscending);
          }) == "page_token");
}

TEST_CASE("MakePage keeps limit items and a token only when more exist") {
    auto token_of = [](int v) { return "after-" + std::to_string(v); };
    const Page<int> full = MakePage(std::vector<int>{1, 2, 3, 4}, 3, token_of);
    CHECK(full.items == std::vector<int>{1, 2, 3});
    CHECK(full.next_page_token == "after-3");
    const Page<int> last = MakePage(std::vector<int>{1, 2, 3}, 3, token_of);
    CHECK(last.items.size() == 3);
    CHECK(last.next_page_token.empty());
    CHECK(MakePage(std::vector<int>{}, 3, token_of).next_page_token.empty());
}

TEST_CASE("update masks are checked against allowed paths") {
    CHECK_NOTHROW(ValidateUpdateMask({"email", "phone"}, {"email", "phone", "tags"}));
    CHECK(FieldOf([] { ValidateUpdateMask({"id"}, {"email"}); }) == "update_mask");
    CHECK(FieldOf([] { ValidateUpdateMask({}, {"email"}); }) == "update_mask");
    CHECK(FieldOf([] { ValidateUpdateMask({"email", "email"}, {"email"}); }) == "update_mask");
}

TEST_CASE("ResolveUpdatePaths: '*', a checked mask, or the fields the request sets") {
    using crm::common::ResolveUpdatePaths;
    using crm::common::Violations;
    const std::vector<std::string> allowed{"name", "amount", "owner_id"};
    const auto set = [](const std::string& p) { return p == "amount"; };
    Violations v;
    CHECK(ResolveUpdatePaths(v, {"*"}, allowed, set) == allowed);
    CHECK(ResolveUpdatePaths(v, {"owner_id", "name"}, allowed, set) == std::vector<std::string>{"owner_id", "name"});
    CHECK(ResolveUpdatePaths(v, {}, allowed, set) == std::vector<std::string>{"amount"});
    CHECK(v.empty());
    CHECK(ResolveUpdatePaths(v, {"name", "id", "name"}, allowed, set).empty());
    REQUIRE(v.list().size() == 2);  // the unknown path and the repeated one, both on update_mask
    CHECK(v.list()[0].field == "update_mask");
    Violations none;
    CHECK(ResolveUpdatePaths(none, {}, allowed, [](const std::string&) { return false; }).empty());
    REQUIRE(none.list().size() == 1);
    CHECK(none.list()[0].description == "nothing to update: name the fields to change");
}
