// Authorization at the gateway with the local stack's policy (deploy/local/gateway-policy.json): a valid token whose
// roles do not grant the method is PERMISSION_DENIED and the call never reaches the service (nothing is written).
// The whole role x method matrix is a unit test (gateway/tests/policy_matrix_test.cpp); this shows it end to end.
#include <catch2/catch.hpp>

#include "../support/contacts_client.hpp"

using namespace crm::test;

namespace {

std::string ContactCount(const std::string& tenant) {
    return QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'");
}

}  // namespace

TEST_CASE("gateway authz: read_only lists but may not create, and nothing is written",
          "[integration][gateway][authz]") {
    const std::string tenant = UniqueTenant();
    ContactsClient(TokenFor(tenant)).MustCreate("Ada", "Lovelace");
    ContactsClient reader(TokenFor(tenant, {"read_only"}));

    auto list = reader.ListContacts({});
    REQUIRE(list.ok());
    CHECK(list.response.contacts_size() == 1);

    cv1::CreateContactRequest create;
    create.mutable_contact()->set_given_name("Not");
    create.mutable_contact()->set_family_name("Allowed");
    auto created = reader.CreateContact(create);
    CHECK(created.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(created.status.error_message() == "permission denied");  // generic: no role or rule names
    CHECK(ErrorReason(created.status) == "PERMISSION_DENIED");
    CHECK(ContactCount(tenant) == "1");
}

TEST_CASE("gateway authz: sales_rep works with contacts but may not erase one", "[integration][gateway][authz]") {
    const std::string tenant = UniqueTenant();
    ContactsClient rep(TokenFor(tenant, {"sales_rep"}));
    const cv1::Contact contact = rep.MustCreate("Grace", "Hopper", "grace@example.com");

    cv1::EraseContactRequest erase;
    erase.set_id(contact.id());
    auto erased = rep.EraseContact(erase);
    CHECK(erased.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    cv1::ExportContactDataRequest export_request;
    export_request.set_id(contact.id());
    CHECK(rep.ExportContactData(export_request).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // The contact is untouched: the same rep still reads it with its email.
    cv1::GetContactRequest get;
    get.set_id(contact.id());
    auto got = rep.GetContact(get);
    REQUIRE(got.ok());
    CHECK(got.response.contact().email() == "grace@example.com");
    // An admin may erase it.
    CHECK(ContactsClient(TokenFor(tenant)).EraseContact(erase).ok());
}

TEST_CASE("gateway authz: a valid token without roles is PERMISSION_DENIED, not UNAUTHENTICATED",
          "[integration][gateway][authz]") {
    const std::string tenant = UniqueTenant();
    for (const auto& roles : std::vector<std::vector<std::string>>{{}, {"superuser"}}) {
        ContactsClient nobody(TokenFor(tenant, roles));
        CHECK(nobody.ListContacts({}).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
        cv1::CreateContactRequest create;
        create.mutable_contact()->set_given_name("Nobody");
        CHECK(nobody.CreateContact(create).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }
    CHECK(ContactCount(tenant) == "0");
}
