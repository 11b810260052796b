// Bad input on every kind of call: the right code, the offending field named, and nothing written.
#include <catch2/catch.hpp>

#include "../support/contacts_client.hpp"

using namespace crm::test;

namespace {
long RowCount(const std::string& tenant) {
    return std::stol(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'")) +
           std::stol(QueryScalar("contacts", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'"));
}

void ExpectInvalid(const grpc::Status& s, const std::string& field) {
    INFO("status: " << s.error_code() << " " << s.error_message());
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(s, field));
}
}  // namespace

TEST_CASE("bad input: create is refused with field details and writes nothing", "[integration][contacts][validation]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    auto create = [&](auto&& fill) {
        cv1::CreateContactRequest req;
        fill(*req.mutable_contact());
        return api.CreateContact(req).status;
    };
    ExpectInvalid(create([](cv1::Contact& c) { c.set_given_name("   "); }), "contact.given_name");
    ExpectInvalid(create([](cv1::Contact& c) {
                      c.set_given_name("A");
                      c.set_email("not-an-email");
                  }),
                  "contact.email");
    ExpectInvalid(create([](cv1::Contact& c) {
                      c.set_given_name("A");
                      c.set_phone("call me maybe");
                  }),
                  "contact.phone");
    ExpectInvalid(create([](cv1::Contact& c) { c.set_given_name(std::string(201, 'x')); }), "contact.given_name");
    ExpectInvalid(create([](cv1::Contact& c) {
                      c.set_given_name("A");
                      (*c.mutable_custom_fields())["no_such_field"] = "1";
                  }),
                  "contact.custom_fields.no_such_field");
    ExpectInvalid(create([](cv1::Contact& c) {
                      c.set_given_name("A");
                      c.set_company_id("not-a-uuid");
                  }),
                  "contact.company_id");
    {
        cv1::CreateContactRequest req;
        req.mutable_contact()->set_given_name("A");
        req.set_request_id(std::string(65, 'r'));
        ExpectInvalid(api.CreateContact(req).status, "request_id");
    }
    CHECK(RowCount(tenant) == 0);
}

TEST_CASE("bad input: custom fields are validated against their definitions", "[integration][contacts][validation]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    cv1::CreateCustomFieldDefinitionRequest def;
    def.mutable_custom_field_definition()->set_entity(cv1::CUSTOM_FIELD_ENTITY_CONTACT);
    def.mutable_custom_field_definition()->set_key("size");
    def.mutable_custom_field_definition()->set_label("Company size");
    def.mutable_custom_field_definition()->set_type(cv1::CUSTOM_FIELD_TYPE_SINGLE_SELECT);
    def.mutable_custom_field_definition()->add_allowed_values("small");
    def.mutable_custom_field_definition()->add_allowed_values("large");
    auto created = api.CreateCustomFieldDefinition(def);
    INFO(created.status.error_message());
    REQUIRE(created.ok());

    cv1::CreateContactRequest bad;
    bad.mutable_contact()->set_given_name("A");
    (*bad.mutable_contact()->mutable_custom_fields())["size"] = "medium";
    ExpectInvalid(api.CreateContact(bad).status, "contact.custom_fields.size");

    cv1::CreateContactRequest good;
    good.mutable_contact()->set_given_name("A");
    (*good.mutable_contact()->mutable_custom_fields())["size"] = "large";
    auto ok = api.CreateContact(good);
    REQUIRE(ok.ok());
    CHECK(ok.response.contact().custom_fields().at("size") == "large");

    cv1::ListCustomFieldDefinitionsRequest list;
    CHECK(api.ListCustomFieldDefinitions(list).response.custom_field_definitions_size() == 1);
}

TEST_CASE("bad input: reads, lists and updates", "[integration][contacts][validation]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    cv1::Contact c = api.MustCreate("Ok", "Contact", "ok@example.com");
    const long before = RowCount(tenant);

    cv1::GetContactRequest get;
    get.set_id("1; DROP TABLE contacts");
    ExpectInvalid(api.GetContact(get).status, "id");
    get.set_id(crm::common::NewUuid());
    CHECK(api.GetContact(get).status.error_code() == grpc::StatusCode::NOT_FOUND);

    cv1::ListContactsRequest list;
    list.set_page_size(-1);
    ExpectInvalid(api.ListContacts(list).status, "page_size");
    cv1::ListContactsRequest garbage;
    garbage.set_page_token("garbage!");
    ExpectInvalid(api.ListContacts(garbage).status, "page_token");

    cv1::SearchContactsRequest search;
    ExpectInvalid(api.SearchContacts(search).status, "query");

    cv1::UpdateContactRequest upd;
    upd.mutable_contact()->set_id(c.id());
    upd.mutable_contact()->set_email("x@example.com");
    upd.mutable_update_mask()->add_paths("no_such_path");
    ExpectInvalid(api.UpdateContact(upd).status, "update_mask");
    upd.mutable_update_mask()->Clear();
    upd.mutable_update_mask()->add_paths("id");
    ExpectInvalid(api.UpdateContact(upd).status, "update_mask");
    upd.mutable_update_mask()->Clear();
    upd.mutable_update_mask()->add_paths("email");
    upd.mutable_contact()->set_email("broken@");
    ExpectInvalid(api.UpdateContact(upd).status, "contact.email");

    upd.mutable_contact()->set_email("new@example.com");
    upd.set_etag("\"999\"");  // not an etag the service issues ("v<version>")
    ExpectInvalid(api.UpdateContact(upd).status, "etag");
    upd.set_etag("v999");
    auto stale = api.UpdateContact(upd);
    CHECK(stale.status.error_code() == grpc::StatusCode::ABORTED);

    cv1::MergeContactsRequest self;
    self.set_survivor_id(c.id());
    self.add_loser_ids(c.id());
    CHECK(api.MergeContacts(self).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    cv1::UpdateContactConsentRequest consent;
    consent.set_id(c.id());
    consent.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    ExpectInvalid(api.UpdateContactConsent(consent).status, "source");

    // Nothing above changed the contact or wrote an event.
    CHECK(RowCount(tenant) == before);
    cv1::GetContactRequest again;
    again.set_id(c.id());
    CHECK(api.GetContact(again).response.contact().version() == 1);
}

TEST_CASE("bad input: an oversized message is refused", "[integration][contacts][validation]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    cv1::CreateContactRequest req;
    req.mutable_contact()->set_given_name(std::string(5 << 20, 'x'));  // 5 MiB, above the 4 MiB limit
    auto s = api.CreateContact(req).status;
    CHECK(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(RowCount(tenant) == 0);
}
