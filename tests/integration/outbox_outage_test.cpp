// A broker outage loses no acknowledged write and no event: with Kafka stopped, creates still succeed (the events wait
// in the outbox); once Kafka is back, every event arrives, in order per contact.
#include <catch2/catch.hpp>
#include <map>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"

using namespace crm::test;

TEST_CASE("outbox: 100 creates during a Kafka outage all arrive after it", "[integration][contacts][events][outage]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    EventTap tap("crm.contacts.v1");  // taken while the broker is up

    StackCommand("kafka-stop");
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        cv1::CreateContactRequest req;
        req.mutable_contact()->set_given_name("Outage" + std::to_string(i));
        auto r = api.CreateContact(req);
        if (!r.ok()) {
            StackCommand("kafka-start");
            FAIL("create " << i << " failed during the outage: " << r.status.error_message());
        }
        ids.push_back(r.response.contact().id());
    }
    // Some updates too, so that order per contact is observable.
    for (int i = 0; i < 10; ++i) {
        cv1::UpdateContactRequest upd;
        upd.mutable_contact()->set_id(ids[i]);
        upd.mutable_contact()->set_job_title("Updated during outage");
        upd.mutable_update_mask()->add_paths("job_title");
        REQUIRE(api.UpdateContact(upd).ok());
    }
    CHECK(std::stol(QueryScalar("contacts", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant +
                                                "' AND published_at IS NULL")) == 110);
    StackCommand("kafka-start");

    auto events = tap.WaitFor(tenant, 110, std::chrono::seconds(90), std::chrono::seconds(3));
    // Every event arrived (duplicates are allowed by at-least-once delivery but none are expected here).
    std::set<std::string> event_ids;
    std::map<std::string, std::vector<long>> versions;
    for (const auto& e : events) {
        event_ids.insert(e.envelope.event_id());
        versions[e.envelope.aggregate_id()].push_back(e.envelope.aggregate_version());
    }
    CHECK(event_ids.size() == 110);
    CHECK(versions.size() == 100);
    for (int i = 0; i < 100; ++i) {
        INFO("contact " << i);
        const auto& v = versions[ids[i]];
        if (i < 10) {
            CHECK(v == std::vector<long>{1, 2});  // in order per contact
        } else {
            CHECK(v == std::vector<long>{1});
        }
    }
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant +
                                      "' AND published_at IS NULL") == "0");
}
