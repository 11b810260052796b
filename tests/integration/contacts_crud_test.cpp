// CRUD, idempotent create, optimistic concurrency and the events each change produces, through the gateway.
#include <crm/contacts/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"

using namespace crm::test;
namespace ev1 = crm::contacts::events::v1;

TEST_CASE("contacts: create, get, update with mask, soft delete", "[integration][contacts]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));

    cv1::CreateContactRequest create;
    auto* c = create.mutable_contact();
    c->set_given_name("  Ada ");
    c->set_family_name("Lovelace");
    c->set_email("Ada.Lovelace@Example.COM ");
    c->set_phone("+44 20 7946 0958");
    c->add_tags("vip");
    auto created = api.CreateContact(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const cv1::Contact& ada = created.response.contact();
    CHECK(crm::common::IsUuid(ada.id()));
    CHECK(ada.given_name() == "Ada");
    CHECK(ada.email() == "ada.lovelace@example.com");
    CHECK(ada.phone() == "+442079460958");
    CHECK(ada.state() == cv1::CONTACT_STATE_ACTIVE);
    CHECK(ada.version() == 1);
    CHECK_FALSE(ada.etag().empty());
    CHECK(ada.create_time().seconds() > 0);

    cv1::GetContactRequest get;
    get.set_id(ada.id());
    auto got = api.GetContact(get);
    REQUIRE(got.ok());
    CHECK(got.response.contact().email() == "ada.lovelace@example.com");
    CHECK(got.response.contact().etag() == ada.etag());

    cv1::UpdateContactRequest update;
    update.mutable_contact()->set_id(ada.id());
    update.mutable_contact()->set_job_title("Analyst");
    update.mutable_contact()->set_given_name("ignored because not in the mask");
    update.mutable_update_mask()->add_paths("job_title");
    update.set_etag(ada.etag());
    auto updated = api.UpdateContact(update);
    INFO(updated.status.error_message());
    REQUIRE(updated.ok());
    CHECK(updated.response.contact().job_title() == "Analyst");
    CHECK(updated.response.contact().given_name() == "Ada");
    CHECK(updated.response.contact().version() == 2);
    CHECK(updated.response.contact().etag() != ada.etag());

    SECTION("a stale etag is ABORTED and changes nothing") {
        update.mutable_contact()->set_job_title("Stale");
        update.set_etag(ada.etag());
        auto stale = api.UpdateContact(update);
        CHECK(stale.status.error_code() == grpc::StatusCode::ABORTED);
        CHECK(api.GetContact(get).response.contact().job_title() == "Analyst");
    }

    SECTION("delete is soft: hidden from list, still readable") {
        cv1::DeleteContactRequest del;
        del.set_id(ada.id());
        del.set_etag(updated.response.contact().etag());
        auto deleted = api.DeleteContact(del);
        REQUIRE(deleted.ok());
        auto after = api.GetContact(get);
        REQUIRE(after.ok());
        CHECK(after.response.contact().delete_time().seconds() > 0);
        cv1::ListContactsRequest list;
        CHECK(api.ListContacts(list).response.contacts_size() == 0);
        list.set_show_deleted(true);
        CHECK(api.ListContacts(list).response.contacts_size() == 1);
    }
}

TEST_CASE("contacts: a retried create with the same request_id returns the same contact", "[integration][contacts]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    EventTap tap("crm.contacts.v1");
    const std::string request_id = crm::common::NewUuid();
    cv1::Contact first = api.MustCreate("Grace", "Hopper", "grace@example.com", "", request_id);
    cv1::Contact second = api.MustCreate("Grace", "Hopper", "grace@example.com", "", request_id);
    CHECK(first.id() == second.id());
    CHECK(first.etag() == second.etag());
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'") == "1");
    auto events = tap.WaitFor(tenant, 1, std::chrono::seconds(15));
    CHECK(events.size() == 1);
}

TEST_CASE("contacts: each change yields exactly one event with a correct envelope", "[integration][contacts][events]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    EventTap tap("crm.contacts.v1");

    cv1::Contact c = api.MustCreate("Alan", "Turing", "alan@example.com");
    cv1::UpdateContactRequest update;
    update.mutable_contact()->set_id(c.id());
    update.mutable_contact()->set_job_title("Mathematician");
    update.mutable_update_mask()->add_paths("job_title");
    REQUIRE(api.UpdateContact(update).ok());
    cv1::DeleteContactRequest del;
    del.set_id(c.id());
    REQUIRE(api.DeleteContact(del).ok());

    auto events = tap.WaitFor(tenant, 3, std::chrono::seconds(20));
    REQUIRE(events.size() == 3);
    const char* types[] = {"crm.contacts.events.v1.ContactCreated", "crm.contacts.events.v1.ContactUpdated",
                           "crm.contacts.events.v1.ContactDeleted"};
    std::set<std::string> ids;
    for (size_t i = 0; i < 3; ++i) {
        const auto& env = events[i].envelope;
        CHECK(env.event_type() == types[i]);
        CHECK(env.source() == "contacts");
        CHECK(env.tenant_id() == tenant);
        CHECK(env.aggregate_type() == "contact");
        CHECK(env.aggregate_id() == c.id());
        CHECK(env.aggregate_version() == static_cast<long>(i + 1));
        CHECK(env.occurred_at().seconds() > 0);
        CHECK(crm::common::IsUuid(env.event_id()));
        CHECK(events[i].key == c.id());
        CHECK(events[i].headers["ce_id"] == env.event_id());
        CHECK(events[i].headers["ce_type"] == types[i]);
        CHECK(events[i].headers["ce_specversion"] == "1.0");
        CHECK(events[i].headers["ce_source"] == "/crm/contacts");
        // ce_time: the envelope's occurred_at in RFC 3339, as proto/crm/common/v1/event.proto promises.
        CHECK(events[i].headers["ce_time"] == google::protobuf::util::TimeUtil::ToString(env.occurred_at()));
        ids.insert(env.event_id());
    }
    CHECK(ids.size() == 3);
    ev1::ContactCreated created;
    REQUIRE(events[0].envelope.payload().UnpackTo(&created));
    CHECK(created.contact().email() == "alan@example.com");
    ev1::ContactUpdated changed;
    REQUIRE(events[1].envelope.payload().UnpackTo(&changed));
    CHECK(changed.contact().job_title() == "Mathematician");
    CHECK(std::vector<std::string>(changed.changed_paths().begin(), changed.changed_paths().end()) ==
          std::vector<std::string>{"job_title"});
}

TEST_CASE("companies: create, get, update, list, delete with events", "[integration][contacts]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    EventTap tap("crm.contacts.v1");
    cv1::CreateCompanyRequest create;
    create.mutable_company()->set_name("Analytical Engines Ltd");
    create.mutable_company()->set_domain("https://www.Engines.example/about");
    auto created = api.CreateCompany(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    CHECK(created.response.company().domain() == "engines.example");

    cv1::UpdateCompanyRequest update;
    update.mutable_company()->set_id(created.response.company().id());
    update.mutable_company()->set_industry("Computing");
    update.mutable_update_mask()->add_paths("industry");
    update.set_etag(created.response.company().etag());
    auto updated = api.UpdateCompany(update);
    REQUIRE(updated.ok());
    CHECK(updated.response.company().industry() == "Computing");

    cv1::ListCompaniesRequest list;
    auto listed = api.ListCompanies(list);
    REQUIRE(listed.ok());
    REQUIRE(listed.response.companies_size() == 1);

    cv1::DeleteCompanyRequest del;
    del.set_id(created.response.company().id());
    REQUIRE(api.DeleteCompany(del).ok());
    CHECK(api.ListCompanies(list).response.companies_size() == 0);

    auto events = tap.WaitFor(tenant, 3, std::chrono::seconds(20));
    REQUIRE(events.size() == 3);
    CHECK(events[0].envelope.event_type() == "crm.contacts.events.v1.CompanyCreated");
    CHECK(events[1].envelope.event_type() == "crm.contacts.events.v1.CompanyUpdated");
    CHECK(events[2].envelope.event_type() == "crm.contacts.events.v1.CompanyDeleted");
    CHECK(events[0].envelope.aggregate_type() == "company");
}
