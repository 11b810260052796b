#include "crm/common/identity.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "crm/common/errors.hpp"

using namespace crm::common;

namespace {
const std::string kKey = "0123456789abcdef0123456789abcdef";

std::map<std::string, std::string> Signed(const Identity& id, std::chrono::system_clock::time_point at) {
    std::map<std::string, std::string> md;
    for (auto& [k, v] : SignIdentity(id, kKey, at)) md[k] = v;
    return md;
}

grpc::StatusCode CodeOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const ApiError& e) {
        return e.code();
    }
    return grpc::StatusCode::OK;
}
}  // namespace

TEST_CASE("a signed identity verifies and round-trips") {
    Identity id{"acme", "u-1", {"sales_rep", "marketer"}, "", "req-1"};
    auto now = std::chrono::system_clock::now();
    Identity got = VerifyIdentity(Signed(id, now), kKey, now);
    CHECK(got.tenant_id == "acme");
    CHECK(got.user_id == "u-1");
    CHECK(got.roles == std::vector<std::string>{"sales_rep", "marketer"});
    CHECK(got.request_id == "req-1");
    CHECK(got.HasRole("marketer"));
    CHECK_FALSE(got.HasRole("admin"));
}

TEST_CASE("forged, tampered, unsigned or stale identities are refused") {
    Identity id{"acme", "u-1", {"sales_rep"}, "", "req-1"};
    auto now = std::chrono::system_clock::now();
    auto md = Signed(id, now);

    auto tampered = md;
    tampered[meta::kTenant] = "globex";  // another tenant under the same signature
    CHECK(CodeOf([&] { VerifyIdentity(tampered, kKey, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    auto escalated = md;
    escalated[meta::kRoles] = "admin";
    CHECK(CodeOf([&] { VerifyIdentity(escalated, kKey, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    std::map<std::string, std::string> unsigned_md{{meta::kTenant, "acme"}, {meta::kUser, "u-1"}};
    CHECK(CodeOf([&] { VerifyIdentity(unsigned_md, kKey, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    CHECK(CodeOf([&] { VerifyIdentity(md, "another-key-another-key-another-key", now); }) ==
          grpc::StatusCode::UNAUTHENTICATED);

    CHECK(CodeOf([&] { VerifyIdentity(md, kKey, now + std::chrono::minutes(10)); }) ==
          grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("tenant ids are validated") {
    CHECK(IsValidTenantId("acme"));
    CHECK(IsValidTenantId("t-123_x"));
    CHECK_FALSE(IsValidTenantId(""));
    CHECK_FALSE(IsValidTenantId("Acme"));
    CHECK_FALSE(IsValidTenantId("-acme"));
    CHECK_FALSE(IsValidTenantId("a' OR '1'='1"));
    CHECK_FALSE(IsValidTenantId(std::string(64, 'a')));
}
