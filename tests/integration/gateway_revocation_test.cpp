// Token revocation by jti: an operator revokes a token (deploy/local/stack revoke-token, a key in Redis with a TTL);
// the gateway refuses that token from the next call on, and only that token.
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "../support/contacts_client.hpp"

using namespace crm::test;

namespace {

nlohmann::json Claims(const std::string& token) {
    const size_t first = token.find('.');
    const size_t second = token.find('.', first + 1);
    return nlohmann::json::parse(crm::common::Base64UrlDecode(token.substr(first + 1, second - first - 1)));
}

// The TTL in seconds of a Redis key in the stack's Redis (redis-cli), -2 when the key does not exist.
long RedisTtl(const std::string& key) {
    const std::string address = RequireEnv("CRM_TEST_REDIS");
    const std::string cmd = "redis-cli -h " + address.substr(0, address.rfind(':')) + " -p " +
                            address.substr(address.rfind(':') + 1) + " TTL '" + key + "'";
    FILE* out = popen(cmd.c_str(), "r");
    REQUIRE(out != nullptr);
    char buf[64] = {};
    const bool read = fgets(buf, sizeof buf, out) != nullptr;
    pclose(out);
    REQUIRE(read);
    return std::stol(buf);
}

grpc::Status List(const std::string& token) { return ContactsClient(token).ListContacts({}).status; }

}  // namespace

TEST_CASE("gateway revocation: a revoked jti is refused, another token of the same user still works",
          "[integration][gateway][revocation]") {
    TokenSpec spec;
    spec.tenant = UniqueTenant();
    spec.user = "revoked-user";
    const std::string revoked = MintToken(spec);
    const std::string other = MintToken(spec);
    const std::string jti = Claims(revoked)["jti"];
    REQUIRE(jti != Claims(other)["jti"]);
    REQUIRE(List(revoked).ok());
    REQUIRE(List(other).ok());

    StackCommand("revoke-token " + jti + " 600");
    CHECK(RedisTtl("crm:revoked:jti:" + jti) > 590);

    const grpc::Status refused = List(revoked);
    CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(refused.error_message() == "token revoked");
    CHECK(ErrorReason(refused) == "TOKEN_REVOKED");
    // Every method, also one the roles would not grant: a revoked credential is a bad credential (401, not 403).
    spec.roles = {"read_only"};
    const std::string reader = MintToken(spec);
    StackCommand("revoke-token " + std::string(Claims(reader)["jti"]) + " 600");
    cv1::CreateContactRequest create;
    create.mutable_contact()->set_given_name("Never");
    CHECK(ContactsClient(reader).CreateContact(create).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

    CHECK(List(other).ok());
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + spec.tenant + "'") == "0");
}

TEST_CASE("gateway revocation: revoking by token keeps the key for the token's remaining lifetime",
          "[integration][gateway][revocation]") {
    TokenSpec spec;
    spec.tenant = UniqueTenant();
    spec.ttl = std::chrono::seconds(300);
    const std::string token = MintToken(spec);
    REQUIRE(List(token).ok());
    StackCommand("revoke-token " + token);
    const long ttl = RedisTtl("crm:revoked:jti:" + std::string(Claims(token)["jti"]));
    CHECK(ttl > 300);  // the remaining lifetime plus the gateway's clock skew allowance
    CHECK(ttl <= 360);
    CHECK(List(token).error_code() == grpc::StatusCode::UNAUTHENTICATED);
}
