#include "proxy/headers.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"

using namespace crm::gateway;

namespace {
const std::string kKey = "internal-key-0123456789abcdef-0123";
const std::string kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

bool Has(const Metadata& md, const std::string& key) {
    for (const auto& [k, v] : md) {
        if (k == key) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("the bearer token is taken from a single authorization header") {
    CHECK(ExtractBearer({{"authorization", "Bearer abc.def.ghi"}}).token == "abc.def.ghi");
    CHECK(ExtractBearer({{"authorization", "bearer abc.def.ghi"}}).error == BearerError::kNone);
    CHECK(ExtractBearer({{"authorization", "BEARER   abc.def.ghi  "}}).token == "abc.def.ghi");
    CHECK(ExtractBearer({}).error == BearerError::kMissing);
    CHECK(ExtractBearer({{"x-authorization", "Bearer a"}}).error == BearerError::kMissing);
    CHECK(ExtractBearer({{"authorization", "Basic dXNlcjpwYXNz"}}).error == BearerError::kMalformed);
    CHECK(ExtractBearer({{"authorization", "Bearer"}}).error == BearerError::kMalformed);
    CHECK(ExtractBearer({{"authorization", "Bearer "}}).error == BearerError::kMalformed);
    CHECK(ExtractBearer({{"authorization", "Bearerabc"}}).error == BearerError::kMalformed);
    CHECK(ExtractBearer({{"authorization", "Bearer a b"}}).error == BearerError::kMalformed);
    CHECK(ExtractBearer({{"authorization", "abc.def.ghi"}}).error == BearerError::kMalformed);
    CHECK(ExtractBearer({{"authorization", "Bearer a"}, {"authorization", "Bearer b"}}).error ==
          BearerError::kMalformed);
}

TEST_CASE("the request id is the client's when valid, else a new UUID") {
    CHECK(ChooseRequestId({{"x-request-id", "req-42"}}) == "req-42");
    CHECK(crm::common::IsUuid(ChooseRequestId({})));
    CHECK(crm::common::IsUuid(ChooseRequestId({{"x-request-id", ""}})));
    CHECK(crm::common::IsUuid(ChooseRequestId({{"x-request-id", "has space"}})));
    CHECK(crm::common::IsUuid(ChooseRequestId({{"x-request-id", std::string(129, 'r')}})));
    CHECK(crm::common::IsUuid(ChooseRequestId({{"x-request-id", "a"}, {"x-request-id", "b"}})));
    CHECK(crm::common::IsUuid(ChooseRequestId({{"x-crm-request-id", "forged"}})));
    CHECK(ChooseRequestId({}) != ChooseRequestId({}));
}

TEST_CASE("traceparent validation follows W3C trace context") {
    CHECK(IsValidTraceparent(kTrace));
    CHECK_FALSE(IsValidTraceparent(""));
    CHECK_FALSE(IsValidTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));  // upper case
    CHECK_FALSE(IsValidTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    CHECK_FALSE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    CHECK_FALSE(IsValidTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    CHECK_FALSE(IsValidTraceparent(kTrace + "-extra"));  // version 00 has exactly four fields
    CHECK(IsValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    CHECK_FALSE(IsValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
    CHECK_FALSE(IsValidTraceparent("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST_CASE("the backend gets the signed identity and traceparent, nothing else from the client") {
    const Metadata client{{"authorization", "Bearer secret.token.value"},
                          {"x-crm-tenant", "globex"},
                          {"x-crm-user", "admin"},
                          {"x-crm-roles", "admin"},
                          {"x-crm-identity-sig", "forged"},
                          {"x-crm-identity-ts", "1"},
                          {"x-crm-request-id", "forged"},
                          {"x-crm-key-id", "forged"},
                          {"x-request-id", "req-1"},
                          {"traceparent", kTrace},
                          {"tracestate", "vendor=1"},
                          {"cookie", "session=1"},
                          {"user-agent", "grpcurl"}};
    crm::common::Identity id;
    id.tenant_id = "acme";
    id.user_id = "user-1";
    id.roles = {"sales_rep"};
    id.request_id = "req-1";
    const auto now = std::chrono::system_clock::now();
    const Metadata up = UpstreamMetadata(client, id, kKey, now);

    CHECK_FALSE(Has(up, "authorization"));
    CHECK_FALSE(Has(up, "cookie"));
    CHECK_FALSE(Has(up, "tracestate"));
    CHECK_FALSE(Has(up, "user-agent"));
    CHECK(Has(up, "traceparent"));
    for (const auto& [k, v] : up) CHECK(v.find("secret.token.value") == std::string::npos);

    // Every x-crm-* entry is the gateway's, once, and it verifies as the JWT identity.
    std::map<std::string, std::string> crm;
    for (const auto& [k, v] : up) {
        if (k.rfind("x-crm-", 0) == 0) CHECK(crm.emplace(k, v).second);
    }
    CHECK(crm.size() == std::size(crm::common::meta::kAll));
    auto verified = crm::common::VerifyIdentity(crm, kKey, now);
    CHECK(verified.tenant_id == "acme");
    CHECK(verified.user_id == "user-1");
    CHECK(verified.roles == std::vector<std::string>{"sales_rep"});
    CHECK(verified.request_id == "req-1");
}

TEST_CASE("an invalid or repeated traceparent is not forwarded") {
    crm::common::Identity id{"acme", "u", {}, "", "r"};
    auto now = std::chrono::system_clock::now();
    CHECK_FALSE(Has(UpstreamMetadata({{"traceparent", "garbage"}}, id, kKey, now), "traceparent"));
    CHECK_FALSE(
        Has(UpstreamMetadata({{"traceparent", kTrace}, {"traceparent", kTrace}}, id, kKey, now), "traceparent"));
}

TEST_CASE("backend metadata returned to the client excludes reserved and internal entries") {
    const Metadata backend{{"grpc-status-details-bin", "x"},
                           {"grpc-status", "3"},
                           {"grpc-message", "m"},
                           {":status", "200"},
                           {"content-type", "application/grpc"},
                           {"x-crm-tenant", "acme"},
                           {"x-request-id", "other"},
                           {"etag", "\"v3\""},
                           {"retry-after", "5"},
                           {"x-debug-bin", "\x01\x02"}};
    const Metadata out = ClientVisibleMetadata(backend);
    CHECK(out == Metadata{{"etag", "\"v3\""}, {"retry-after", "5"}, {"x-debug-bin", "\x01\x02"}});
}

TEST_CASE("the backend deadline is the client's or the default") {
    using namespace std::chrono;
    const auto now = system_clock::now();
    CHECK(UpstreamDeadline(system_clock::time_point::max(), now, milliseconds(15000)) == now + milliseconds(15000));
    CHECK(UpstreamDeadline(now + seconds(2), now, milliseconds(15000)) == now + seconds(2));
    CHECK(UpstreamDeadline(now + seconds(60), now, milliseconds(15000)) == now + seconds(60));
    CHECK(UpstreamDeadline(now - seconds(1), now, milliseconds(15000)) == now - seconds(1));
}
