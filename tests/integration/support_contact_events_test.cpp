// Contacts events applied by the support service through the kit's consumer runtime: a merge moves the losers' cases
// to the survivor (one CaseUpdated each), an erasure blanks what the person wrote; a redelivered event (the same
// event id produced again) applies nothing twice.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/support_client.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

// Polls `sql` in the support database until it returns `expected` (or 90 s passed: a consumer that just (re)joined
// its group may wait for a rebalance first); returns the last value.
std::string WaitForValue(const std::string& sql, const std::string& expected) {
    std::string value;
    for (int i = 0; i < 450; ++i) {
        value = QueryScalar("support", sql);
        if (value == expected) break;
        std::this_thread::sleep_for(200ms);
    }
    return value;
}

}  // namespace

TEST_CASE("support: a merged contact's cases follow the survivor - an erased person's messages are blanked",
          "[integration][support][events]") {
    const std::string tenant = UniqueTenant("se");
    const std::string token = TokenFor(tenant);
    ContactsClient contacts(token);
    SupportClient api(token);
    const auto survivor =
        contacts.MustCreate("Grace", "Hopper", "grace." + crm::common::NewUuid().substr(0, 8) + "@x.io");
    const auto loser = contacts.MustCreate("G.", "Hopper", "gh." + crm::common::NewUuid().substr(0, 8) + "@x.io");
    const spv1::Case on_loser = api.MustCreateCase("Lost luggage", loser.id());
    api.MustAddMessage(on_loser.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "my bag, with my passport no. 123");
    api.MustAddMessage(on_loser.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "we are looking");

    EventTap contacts_tap("crm.contacts.v1");
    EventTap support_tap("crm.support.v1");
    // Only the case's move counts: the relay may still be publishing the set-up's events (created, messages) late.
    support_tap.Keep([&](const crm::common::v1::EventEnvelope& e) {
        return e.aggregate_id() == on_loser.id() && e.aggregate_version() >= 5;
    });
    crm::contacts::v1::MergeContactsRequest merge;
    merge.set_survivor_id(survivor.id());
    merge.add_loser_ids(loser.id());
    auto merged = contacts.MergeContacts(merge);
    INFO(merged.status.error_message());
    REQUIRE(merged.ok());
    const std::string case_sql =
        "SELECT contact_id::text || ' v' || version FROM cases WHERE id = '" + on_loser.id() + "'";
    // created 1, message 2, reply 3 + opened 4, moved 5.
    CHECK(WaitForValue(case_sql, survivor.id() + " v5") == survivor.id() + " v5");
    auto moved = support_tap.WaitFor(tenant, 1, 30s);
    REQUIRE(moved.size() == 1);
    CHECK(moved[0].envelope.event_type() == "crm.support.events.v1.CaseUpdated");
    CHECK(moved[0].envelope.aggregate_version() == 5);

    // The same ContactsMerged event delivered again: applied nothing (the version stays 5).
    auto contact_events = contacts_tap.WaitFor(tenant, 1, 20s, 500ms);
    const ReceivedEvent* merge_event = nullptr;
    for (const auto& e : contact_events) {
        if (e.envelope.event_type() == "crm.contacts.events.v1.ContactsMerged") merge_event = &e;
    }
    REQUIRE(merge_event != nullptr);
    ProduceEvents({{.topic = "crm.contacts.v1",
                    .key = merge_event->key,
                    .value = merge_event->envelope.SerializeAsString(),
                    .event_id = merge_event->envelope.event_id(),
                    .tenant = tenant}});

    // Erasure of the survivor (who now owns the case): the customer's words are blanked, the agent's reply stays.
    crm::contacts::v1::EraseContactRequest erase;
    erase.set_id(survivor.id());
    REQUIRE(contacts.EraseContact(erase).ok());
    const std::string blank_sql = "SELECT count(*) FROM case_messages WHERE case_id = '" + on_loser.id() +
                                  "' AND kind = 'CUSTOMER_MESSAGE' AND body = '' AND erase_time IS NOT NULL";
    CHECK(WaitForValue(blank_sql, "1") == "1");
    {  // (stored sealed under the case's key, migration 0104: opened here as the service does)
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
        pqxx::nontransaction tx(conn);
        const pqxx::row r = tx.exec1(
            "SELECT m.body, " CRM_SUBJECT_KEY_COLUMN("m.tenant_id", "m.case_id::text") " FROM case_messages m "
            "WHERE m.case_id = " + tx.quote(on_loser.id()) + "::uuid AND m.kind = 'PUBLIC_REPLY'");
        CHECK(std::string(r[0].c_str()).rfind("pv1.", 0) == 0);
        CHECK(crm::common::ColumnKey(tenant, on_loser.id(), r[1]).Open("case_messages.body", r[0].c_str()) ==
              "we are looking");
    }
    // Both events were processed by now (one partition per key, in order): the redelivered merge changed nothing.
    CHECK(QueryScalar("support", case_sql) == survivor.id() + " v5");
}
