// The gateway refuses every credential that is not a valid, current token for our issuer and audience.
#include <catch2/catch.hpp>

#include "../support/contacts_client.hpp"

using namespace crm::test;

namespace {
grpc::StatusCode ListWith(const std::string& token) {
    ContactsClient api(token);
    cv1::ListContactsRequest req;
    return api.ListContacts(req).status.error_code();
}
}  // namespace

TEST_CASE("auth: a valid token is accepted", "[integration][auth]") {
    CHECK(ListWith(TokenFor(UniqueTenant())) == grpc::StatusCode::OK);
}

TEST_CASE("auth: missing, malformed, forged, expired and misdirected tokens are UNAUTHENTICATED",
          "[integration][auth]") {
    const std::string tenant = UniqueTenant();
    TokenSpec spec;
    spec.tenant = tenant;

    SECTION("no token") { CHECK(ListWith("") == grpc::StatusCode::UNAUTHENTICATED); }
    SECTION("garbage") { CHECK(ListWith("not.a.token") == grpc::StatusCode::UNAUTHENTICATED); }
    SECTION("signed with another secret") {
        spec.secret = "a-different-secret-a-different-secret-0000";
        CHECK(ListWith(MintToken(spec)) == grpc::StatusCode::UNAUTHENTICATED);
    }
    SECTION("expired") {
        spec.ttl = std::chrono::seconds(-120);
        CHECK(ListWith(MintToken(spec)) == grpc::StatusCode::UNAUTHENTICATED);
    }
    SECTION("not yet valid") {
        spec.nbf_offset = std::chrono::seconds(600);
        CHECK(ListWith(MintToken(spec)) == grpc::StatusCode::UNAUTHENTICATED);
    }
    SECTION("wrong audience") {
        spec.audience = "some-other-api";
        CHECK(ListWith(MintToken(spec)) == grpc::StatusCode::UNAUTHENTICATED);
    }
    SECTION("wrong issuer") {
        spec.issuer = "https://evil.example";
        CHECK(ListWith(MintToken(spec)) == grpc::StatusCode::UNAUTHENTICATED);
    }
    SECTION("alg none") {
        spec.alg = "none";
        CHECK(ListWith(MintToken(spec)) == grpc::StatusCode::UNAUTHENTICATED);
    }
    SECTION("tampered payload keeps the old signature") {
        std::string token = MintToken(spec);
        TokenSpec other = spec;
        other.tenant = "victim";
        std::string forged = MintToken(other);
        // header.payload of the forged token with the signature of the genuine one
        std::string mixed = forged.substr(0, forged.rfind('.')) + token.substr(token.rfind('.'));
        CHECK(ListWith(mixed) == grpc::StatusCode::UNAUTHENTICATED);
    }
}
