#include "crm/common/identity.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>

#include "crm/common/errors.hpp"

using namespace crm::common;

namespace {
const std::string kKey = "0123456789abcdef0123456789abcdef";
const std::string kGet = "/crm.contacts.v1.ContactsService/GetContact";
const std::string kErase = "/crm.contacts.v1.ContactsService/EraseContact";

std::map<std::string, std::string> AsMap(const IdentityHeaders& headers) {
    std::map<std::string, std::string> md;
    for (auto& [k, v] : headers) md[k] = v;
    return md;
}

std::map<std::string, std::string> Signed(const Identity& id, std::chrono::system_clock::time_point at,
                                          const std::string& method = kGet) {
    return AsMap(SignIdentity(id, method, kKey, at));
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

TEST_CASE("a signed identity verifies for its method and round-trips") {
    Identity id{"acme", "u-1", {"sales_rep", "marketer"}, "", "req-1"};
    auto now = std::chrono::system_clock::now();
    const auto md = Signed(id, now);
    CHECK(md.at(meta::kMethod) == kGet);
    CHECK(md.count(meta::kCallKey) == 0);
    Identity got = VerifyIdentity(md, kKey, kGet, now);
    CHECK(got.tenant_id == "acme");
    CHECK(got.user_id == "u-1");
    CHECK(got.roles == std::vector<std::string>{"sales_rep", "marketer"});
    CHECK(got.request_id == "req-1");
    CHECK(got.HasRole("marketer"));
    CHECK_FALSE(got.HasRole("admin"));
    // The inspection form (tools, tests) checks the signature for the method the headers name.
    CHECK(VerifyIdentity(md, kKey, now).tenant_id == "acme");
}

TEST_CASE("forged, tampered, unsigned or stale identities are refused") {
    Identity id{"acme", "u-1", {"sales_rep"}, "", "req-1"};
    auto now = std::chrono::system_clock::now();
    auto md = Signed(id, now);

    auto tampered = md;
    tampered[meta::kTenant] = "globex";  // another tenant under the same signature
    CHECK(CodeOf([&] { VerifyIdentity(tampered, kKey, kGet, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    auto escalated = md;
    escalated[meta::kRoles] = "admin";
    CHECK(CodeOf([&] { VerifyIdentity(escalated, kKey, kGet, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    std::map<std::string, std::string> unsigned_md{{meta::kTenant, "acme"}, {meta::kUser, "u-1"}};
    CHECK(CodeOf([&] { VerifyIdentity(unsigned_md, kKey, kGet, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    CHECK(CodeOf([&] { VerifyIdentity(md, "another-key-another-key-another-key", kGet, now); }) ==
          grpc::StatusCode::UNAUTHENTICATED);

    CHECK(CodeOf([&] { VerifyIdentity(md, kKey, kGet, now + std::chrono::minutes(10)); }) ==
          grpc::StatusCode::UNAUTHENTICATED);
    CHECK(CodeOf([&] { VerifyIdentity(md, kKey, now + std::chrono::minutes(10)); }) ==
          grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("a signature made for one method is refused for another") {
    Identity id{"acme", "u-1", {"admin"}, "", "req-1"};
    auto now = std::chrono::system_clock::now();
    const auto md = Signed(id, now, kGet);
    CHECK(CodeOf([&] { VerifyIdentity(md, kKey, kGet, now); }) == grpc::StatusCode::OK);
    CHECK(CodeOf([&] { VerifyIdentity(md, kKey, kErase, now); }) == grpc::StatusCode::UNAUTHENTICATED);
    // Naming the other method in the headers breaks the signature.
    auto renamed = md;
    renamed[meta::kMethod] = kErase;
    CHECK(CodeOf([&] { VerifyIdentity(renamed, kKey, kErase, now); }) == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(CodeOf([&] { VerifyIdentity(renamed, kKey, now); }) == grpc::StatusCode::UNAUTHENTICATED);
    // Without the method header, or signed for no method: no call matches.
    auto without = md;
    without.erase(meta::kMethod);
    CHECK(CodeOf([&] { VerifyIdentity(without, kKey, kGet, now); }) == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(CodeOf([&] { VerifyIdentity(Signed(id, now, ""), kKey, kGet, now); }) == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("a signature is valid for kIdentityMaxAge, and only a little ahead of the verifier's clock") {
    Identity id{"acme", "u-1", {"admin"}, "", "req-1"};
    const auto now = std::chrono::system_clock::now();
    auto verify_at = [&](std::chrono::system_clock::time_point signed_at) {
        return CodeOf([&] { VerifyIdentity(Signed(id, signed_at), kKey, kGet, now); });
    };
    using std::chrono::seconds;
    CHECK(kIdentityMaxAge == seconds(30));
    CHECK(verify_at(now - seconds(28)) == grpc::StatusCode::OK);
    CHECK(verify_at(now - seconds(32)) == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(verify_at(now - seconds(300)) == grpc::StatusCode::UNAUTHENTICATED);  // the window before this change
    CHECK(verify_at(now + seconds(3)) == grpc::StatusCode::OK);
    CHECK(verify_at(now + seconds(10)) == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("prepared identities are signed for a method later - the call key itself is never accepted") {
    Identity id{"acme", "u-1", {"sales_rep"}, "key-1", "req-1"};
    const auto now = std::chrono::system_clock::now();
    auto prepared = AsMap(PrepareIdentity(id, kKey, now));
    REQUIRE(prepared.count(meta::kCallKey) == 1);
    CHECK(prepared.count(meta::kSignature) == 0);
    // Sent as is (a channel without the signer), it is refused.
    CHECK(CodeOf([&] { VerifyIdentity(prepared, kKey, kGet, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    auto finished = prepared;
    finished.erase(meta::kCallKey);
    for (auto& [k, v] : FinishIdentity(prepared.at(meta::kCallKey), kGet)) finished[k] = v;
    CHECK(finished == Signed(id, now, kGet));  // the same headers as signing in one step
    CHECK(VerifyIdentity(finished, kKey, kGet, now).key_id == "key-1");
    CHECK(CodeOf([&] { VerifyIdentity(finished, kKey, kErase, now); }) == grpc::StatusCode::UNAUTHENTICATED);

    CHECK_THROWS_AS(FinishIdentity("not hex", kGet), std::invalid_argument);
    CHECK_THROWS_AS(FinishIdentity("abcd", kGet), std::invalid_argument);
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
