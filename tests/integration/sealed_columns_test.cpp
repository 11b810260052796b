// Encryption at rest of contacts' personal columns (issue 15, docs/privacy.md "What PostgreSQL sees"): the table holds
// e-mail, phone and job title sealed under the contact's data key and blind indexes of e-mail and phone; the API, the
// duplicate checks and search still work through them; rows written before are sealed before the service answers.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <regex>

#include "../support/child_service.hpp"
#include "../support/contacts_client.hpp"
#include "../support/harness.hpp"

using namespace crm::test;

namespace {

// The stored row as PostgreSQL holds it (as the superuser: no row-level security).
struct StoredContact {
    std::string email, phone, job_title, email_index, phone_index, whole_row;
};

StoredContact Stored(const std::string& tenant, const std::string& id) {
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
    pqxx::work tx(conn);
    const pqxx::row r = tx.exec_params1(
        "SELECT email, phone, job_title, email_index, phone_index, row_to_json(c)::text FROM contacts c "
        "WHERE tenant_id = $1 AND id = $2::uuid",
        tenant, id);
    return {r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].c_str(), r[4].c_str(), r[5].c_str()};
}

bool IsHexIndex(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{64}")); }

}  // namespace

TEST_CASE("contacts at rest: PostgreSQL holds e-mail, phone and job title sealed, and their lookups use blind indexes",
          "[integration][privacy][contacts]") {
    const std::string tenant = UniqueTenant("sc");
    ContactsClient api(TokenFor(tenant));
    cv1::CreateContactRequest req;
    req.mutable_contact()->set_given_name("Hedy");
    req.mutable_contact()->set_family_name("Lamarr");
    req.mutable_contact()->set_email("Hedy.Lamarr@Frequency.example");
    req.mutable_contact()->set_phone("+1 310 555 0143");
    req.mutable_contact()->set_job_title("Inventor of frequency hopping");
    auto created = api.CreateContact(req);
    REQUIRE(created.ok());
    const cv1::Contact& hedy = created.response.contact();
    CHECK(hedy.email() == "hedy.lamarr@frequency.example");
    CHECK(hedy.phone() == "+13105550143");

    const StoredContact stored = Stored(tenant, hedy.id());
    CHECK(stored.email.rfind("pv1.", 0) == 0);
    CHECK(stored.phone.rfind("pv1.", 0) == 0);
    CHECK(stored.job_title.rfind("pv1.", 0) == 0);
    CHECK(IsHexIndex(stored.email_index));
    CHECK(IsHexIndex(stored.phone_index));
    // Nothing of the e-mail, phone or job title is in clear anywhere in the row.
    for (const std::string clear : {"lamarr@", "frequency.example", "3105550143", "Inventor", "hopping"}) {
        INFO(clear);
        CHECK(stored.whole_row.find(clear) == std::string::npos);
    }
    // The API reads them back in clear.
    cv1::GetContactRequest get;
    get.set_id(hedy.id());
    auto read = api.GetContact(get);
    REQUIRE(read.ok());
    CHECK(read.response.contact().email() == "hedy.lamarr@frequency.example");
    CHECK(read.response.contact().phone() == "+13105550143");
    CHECK(read.response.contact().job_title() == "Inventor of frequency hopping");

    // Another tenant's index of the same address is unrelated (the index key is the tenant's).
    const std::string other = UniqueTenant("sc");
    ContactsClient other_api(TokenFor(other));
    const cv1::Contact twin = other_api.MustCreate("Hedy", "Lamarr", "hedy.lamarr@frequency.example", "+13105550143");
    const StoredContact twin_stored = Stored(other, twin.id());
    CHECK(twin_stored.email_index != stored.email_index);
    CHECK(twin_stored.phone_index != stored.phone_index);
    // A sealed value is bound to its row: the same address seals differently (fresh nonce, other key).
    CHECK(twin_stored.email != stored.email);

    // The duplicate-email refusal finds the sealed address by its index, whatever its case.
    cv1::CreateContactRequest again;
    again.mutable_contact()->set_given_name("H.");
    again.mutable_contact()->set_email("HEDY.LAMARR@frequency.example");
    auto refused = api.CreateContact(again);
    CHECK(refused.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    // The duplicate candidates find it by phone, written another way.
    cv1::FindDuplicatesRequest by_phone;
    by_phone.mutable_candidate()->set_given_name("Someone");
    by_phone.mutable_candidate()->set_family_name("Else");
    by_phone.mutable_candidate()->set_phone("001 (310) 555-0143");
    auto dups = api.FindDuplicates(by_phone);
    REQUIRE(dups.ok());
    REQUIRE(dups.response.matches_size() == 1);
    CHECK(dups.response.matches(0).contact().id() == hedy.id());
    CHECK(dups.response.matches(0).contact().email() == "hedy.lamarr@frequency.example");
    // An update re-seals the new value and moves the index.
    cv1::UpdateContactRequest update;
    update.mutable_contact()->set_id(hedy.id());
    update.mutable_contact()->set_email("hedy@frequency.example");
    update.mutable_update_mask()->add_paths("email");
    REQUIRE(api.UpdateContact(update).ok());
    const StoredContact updated = Stored(tenant, hedy.id());
    CHECK(updated.email.rfind("pv1.", 0) == 0);
    CHECK(updated.email_index != stored.email_index);
    CHECK(updated.phone_index == stored.phone_index);
    cv1::SearchContactsRequest search;
    search.set_query("hedy@frequency.example");
    auto found = api.SearchContacts(search);
    REQUIRE(found.ok());
    REQUIRE(found.response.contacts_size() == 1);
    CHECK(found.response.contacts(0).id() == hedy.id());
    search.set_query("hedy.lamarr@frequency.example");
    CHECK(api.SearchContacts(search).response.contacts_size() == 0);

    // Erasure blanks the columns and their indexes and destroys the key that sealed them (any copy, e.g. in a backup,
    // no longer opens).
    cv1::EraseContactRequest erase;
    erase.set_id(hedy.id());
    REQUIRE(api.EraseContact(erase).ok());
    const StoredContact erased = Stored(tenant, hedy.id());
    CHECK(erased.email.empty());
    CHECK(erased.phone.empty());
    CHECK(erased.email_index.empty());
    CHECK(erased.phone_index.empty());
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM crm_subject_keys WHERE tenant_id = '" + tenant +
                                      "' AND subject_id = '" + hedy.id() + "'") == "0");
}

TEST_CASE("contacts at rest: a create seals its columns and its event under one key fetched once",
          "[integration][privacy][contacts]") {
    // The transaction remembers the subject keys it created (db.hpp TxMemo): the columns' sealer creates the key, the
    // outbox's sealing of ContactCreated reuses it instead of asking again.
    const std::string tenant = UniqueTenant("sk");
    ContactsClient api(TokenFor(tenant));
    const std::string metrics = RequireEnv("CRM_TEST_CONTACTS_METRICS");
    const auto count = [&](const std::string& query) {
        return std::max(0.0, MetricSample(ScrapeMetrics(metrics), "crm_db_query_duration_seconds_count",
                                          {"query=\"" + query + "\""}));
    };
    const double keys0 = count("subject_key_get_or_insert"), creates0 = count("contacts_create");
    for (int i = 0; i < 3; ++i) {
        api.MustCreate("Key" + std::to_string(i), "Once", "key" + std::to_string(i) + "@once.example", "");
    }
    CHECK(count("contacts_create") == creates0 + 3);
    CHECK(count("subject_key_get_or_insert") == keys0 + 3);
}

TEST_CASE("contacts at rest: rows written in clear before are sealed and indexed before the service answers",
          "[integration][privacy][contacts]") {
    const std::string tenant = UniqueTenant("sb");
    std::vector<std::string> ids;
    {
        // As the superuser: rows as the schema held them before migration 0050 (clear values, no index).
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
        pqxx::work tx(conn);
        for (const auto& row : tx.exec_params(
                 "INSERT INTO contacts (tenant_id, id, given_name, family_name, email, phone, job_title, "
                 "given_name_normalized, family_name_normalized, full_name_normalized) "
                 "SELECT $1, gen_random_uuid(), 'Old' || i, 'Row', 'old' || i || '@before.example', "
                 "'+4420794600' || lpad(i::text, 2, '0'), 'Clerk ' || i, 'old' || i, 'row', 'old' || i || ' row' "
                 "FROM generate_series(1, 1200) AS i RETURNING id::text",
                 tenant)) {
            ids.push_back(row[0].c_str());
        }
        tx.commit();
    }
    REQUIRE(ids.size() == 1200);
    CHECK(Stored(tenant, ids[0]).email == "old1@before.example");

    // A new instance (as after an upgrade) seals them before it answers: more than one batch of 500.
    const int port = FreePort();
    const std::string address = "127.0.0.1:" + std::to_string(port);
    ChildProcess service(CRM_CONTACTS_BINARY, {}, ChildServiceEnv("contacts", port, FreePort()),
                         "/tmp/crm-sealed-backfill.log");
    REQUIRE(WaitServing(address, std::chrono::seconds(60)));
    CHECK(QueryScalar("contacts",
                      "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant +
                          "' AND (email NOT LIKE 'pv1.%' OR phone NOT LIKE 'pv1.%' OR job_title NOT LIKE "
                          "'pv1.%' OR email_index !~ '^[0-9a-f]{64}$' OR phone_index !~ '^[0-9a-f]{64}$')") == "0");
    const StoredContact first = Stored(tenant, ids[0]);
    CHECK(first.whole_row.find("before.example") == std::string::npos);

    // The values open, and the lookups find them by their indexes (through the new instance and the stack's own).
    ContactsClient direct("", grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    cv1::GetContactRequest get;
    get.set_id(ids[0]);
    auto read = direct.GetContact(get, SignedIdentity(tenant));
    REQUIRE(read.ok());
    CHECK(read.response.contact().email() == "old1@before.example");
    CHECK(read.response.contact().phone() == "+442079460001");
    CHECK(read.response.contact().job_title() == "Clerk 1");
    cv1::SearchContactsRequest search;
    search.set_query("old1000@before.example");
    auto found = direct.SearchContacts(search, SignedIdentity(tenant));
    REQUIRE(found.ok());
    REQUIRE(found.response.contacts_size() == 1);
    CHECK(found.response.contacts(0).given_name() == "Old1000");
    ContactsClient api(TokenFor(tenant));
    cv1::CreateContactRequest again;
    again.mutable_contact()->set_given_name("Again");
    again.mutable_contact()->set_email("OLD7@before.example");
    CHECK(api.CreateContact(again).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
}
