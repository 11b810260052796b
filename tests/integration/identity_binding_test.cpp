// The signed identity the gateway forwards is bound to the method it was made for and short-lived: a header set
// captured on the way to one RPC (here made as the gateway makes it, with the stack's internal key) and replayed
// directly against the service, for another RPC or after its window, is UNAUTHENTICATED and changes nothing.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>

#include "../support/contacts_client.hpp"
#include "crm/common/identity.hpp"

using namespace crm::test;
namespace common = crm::common;

namespace {

std::map<std::string, std::string> Captured(const std::string& tenant, const std::string& method,
                                            std::chrono::system_clock::time_point at) {
    const common::Identity id{tenant, "captured-user", {"admin"}, "", common::NewUuid()};
    std::map<std::string, std::string> md;
    for (auto& [k, v] : common::SignIdentity(id, method, RequireEnv("CRM_INTERNAL_KEY"), at)) md[k] = v;
    return md;
}

std::string ContactCount(const std::string& tenant) {
    return QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'");
}

}  // namespace

TEST_CASE("identity: a header set captured for one RPC is refused for another RPC and once stale",
          "[integration][contacts][identity]") {
    const std::string tenant = UniqueTenant("replay");
    ContactsClient direct("", DirectChannel("CRM_TEST_CONTACTS"));
    const auto captured =
        Captured(tenant, RpcName<cv1::ContactsService>("ListContacts"), std::chrono::system_clock::now());

    // The RPC it was signed for is served.
    auto listed = direct.ListContacts({}, captured);
    INFO(listed.status.error_message());
    REQUIRE(listed.ok());

    // Replayed against other RPCs of the same service: refused before any handler work, nothing written.
    cv1::CreateContactRequest create;
    create.mutable_contact()->set_given_name("Replayed");
    auto created = direct.CreateContact(create, captured);
    CHECK(created.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    cv1::CreateCustomFieldDefinitionRequest define;
    define.mutable_custom_field_definition()->set_key("replayed");
    CHECK(direct.CreateCustomFieldDefinition(define, captured).status.error_code() ==
          grpc::StatusCode::UNAUTHENTICATED);
    cv1::SearchContactsRequest search;
    search.set_query("x");
    CHECK(direct.SearchContacts(search, captured).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

    // Rewriting the method header to the target RPC breaks the signature.
    auto renamed = captured;
    renamed[common::meta::kMethod] = RpcName<cv1::ContactsService>("CreateContact");
    CHECK(direct.CreateContact(create, renamed).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

    // A header set for the right RPC but older than the window.
    const auto old = Captured(tenant, RpcName<cv1::ContactsService>("CreateContact"),
                              std::chrono::system_clock::now() - common::kIdentityMaxAge - std::chrono::seconds(5));
    CHECK(direct.CreateContact(create, old).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

    CHECK(ContactCount(tenant) == "0");

    // The same identity signed for CreateContact itself, fresh, is served: the refusals above were the binding.
    const auto fresh =
        Captured(tenant, RpcName<cv1::ContactsService>("CreateContact"), std::chrono::system_clock::now());
    auto served = direct.CreateContact(create, fresh);
    INFO(served.status.error_message());
    CHECK(served.ok());
    CHECK(ContactCount(tenant) == "1");
}
