// Duplicate detection, merge, consent, GDPR export and erasure.
#include <crm/contacts/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"

using namespace crm::test;
namespace ev1 = crm::contacts::events::v1;

namespace {
bool HasReason(const cv1::DuplicateMatch& m, cv1::DuplicateReason r) {
    for (int x : m.reasons()) {
        if (x == r) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("contacts: duplicates are detected on create and by FindDuplicates", "[integration][contacts][dedup]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    cv1::Contact original = api.MustCreate("José", "Müller", "jose.muller@example.com", "+49 30 1234567");

    SECTION("same email (other case) is ALREADY_EXISTS unless allowed") {
        cv1::CreateContactRequest req;
        req.mutable_contact()->set_given_name("Jose");
        req.mutable_contact()->set_email("JOSE.MULLER@example.com");
        auto r = api.CreateContact(req);
        CHECK(r.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
        CHECK(ErrorReason(r.status) == "DUPLICATE_EMAIL");
        CHECK(ErrorMetadata(r.status, "existing_id") == original.id());
        req.set_allow_duplicate(true);
        auto allowed = api.CreateContact(req);
        REQUIRE(allowed.ok());
        REQUIRE(allowed.response.possible_duplicates_size() >= 1);
        CHECK(allowed.response.possible_duplicates(0).contact().id() == original.id());
        CHECK(allowed.response.possible_duplicates(0).score() == Approx(1.0));
    }

    SECTION("same phone in another format is reported as a possible duplicate") {
        cv1::CreateContactRequest req;
        req.mutable_contact()->set_given_name("J.");
        req.mutable_contact()->set_family_name("Mueller");
        req.mutable_contact()->set_phone("0049 30 123 4567");
        auto r = api.CreateContact(req);
        REQUIRE(r.ok());
        REQUIRE(r.response.possible_duplicates_size() >= 1);
        CHECK(r.response.possible_duplicates(0).contact().id() == original.id());
        CHECK(HasReason(r.response.possible_duplicates(0), cv1::DUPLICATE_REASON_PHONE_EXACT));
    }

    SECTION("a near-identical name is found by FindDuplicates, an unrelated one is not") {
        api.MustCreate("Someone", "Else", "someone@example.com");
        cv1::FindDuplicatesRequest req;
        req.mutable_candidate()->set_given_name("Jose");
        req.mutable_candidate()->set_family_name("Muller");
        auto r = api.FindDuplicates(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        REQUIRE(r.response.matches_size() == 1);
        CHECK(r.response.matches(0).contact().id() == original.id());
        CHECK(HasReason(r.response.matches(0), cv1::DUPLICATE_REASON_NAME_SIMILAR));
        CHECK(r.response.matches(0).score() >= 0.5);
    }
}

TEST_CASE("companies: a second company with the same domain or name is refused with the existing id",
          "[integration][contacts][dedup]") {
    const std::string tenant = UniqueTenant();
    const std::string other_tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    ContactsClient other(TokenFor(other_tenant));
    EventTap tap("crm.contacts.v1");
    const auto companies = [&](const std::string& t) {
        return QueryScalar("contacts", "SELECT count(*) FROM companies WHERE tenant_id = '" + t + "'");
    };
    const auto create = [](ContactsClient& client, const std::string& name, const std::string& domain,
                           const std::string& request_id) {
        cv1::CreateCompanyRequest req;
        req.set_request_id(request_id);
        req.mutable_company()->set_name(name);
        req.mutable_company()->set_domain(domain);
        return client.CreateCompany(req);
    };
    const std::string first_request = crm::common::NewUuid();
    auto first = create(api, "Acme", "acme.com", first_request);
    INFO(first.status.error_message());
    REQUIRE(first.ok());
    const std::string acme = first.response.company().id();

    // The same domain written differently, under another name: refused, naming the existing company.
    auto dup = create(api, "Acme Corporation", "https://www.Acme.com/x", crm::common::NewUuid());
    CHECK(dup.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorReason(dup.status) == "DUPLICATE_COMPANY");
    CHECK(dup.status.error_message().ends_with(": " + acme));
    CHECK(ErrorMetadata(dup.status, "existing_id") == acme);  // for programs: leads links a converted lead by it
    CHECK(companies(tenant) == "1");

    // A retry of the first request returns the first result, not ALREADY_EXISTS.
    auto retried = create(api, "Acme", "acme.com", first_request);
    REQUIRE(retried.ok());
    CHECK(retried.response.company().id() == acme);

    // Another tenant may have the same domain.
    auto elsewhere = create(other, "Acme", "ACME.com", crm::common::NewUuid());
    INFO(elsewhere.status.error_message());
    REQUIRE(elsewhere.ok());
    CHECK(elsewhere.response.company().id() != acme);

    // Without a domain the name decides, ignoring case and surrounding spaces.
    auto named = create(api, "Initech", "", crm::common::NewUuid());
    REQUIRE(named.ok());
    auto same_name = create(api, "  INITECH ", "", crm::common::NewUuid());
    CHECK(same_name.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorMetadata(same_name.status, "existing_id") == named.response.company().id());
    // A company with a domain is matched by its domain only; a name without domain elsewhere in the tenant is free.
    auto with_domain = create(api, "Initech", "initech.example", crm::common::NewUuid());
    REQUIRE(with_domain.ok());
    CHECK(companies(tenant) == "3");

    // A deleted company no longer blocks its domain.
    cv1::DeleteCompanyRequest del;
    del.set_id(acme);
    REQUIRE(api.DeleteCompany(del).ok());
    auto recreated = create(api, "Acme", "acme.com", crm::common::NewUuid());
    REQUIRE(recreated.ok());
    CHECK(recreated.response.company().id() != acme);

    // One CompanyCreated per company written, none for the refusals or the retry (3 created + 1 deleted + 1).
    auto events = tap.WaitFor(tenant, 5, std::chrono::seconds(20), std::chrono::seconds(2));
    // Events of different companies may arrive in any order (partitioned by aggregate id).
    REQUIRE(events.size() == 5);
    std::map<std::string, int> types;
    for (const auto& e : events) ++types[e.envelope.event_type()];
    CHECK(types["crm.contacts.events.v1.CompanyCreated"] == 4);
    CHECK(types["crm.contacts.events.v1.CompanyDeleted"] == 1);

    // Updates are held to the same rule: moving a company onto another's domain, or renaming a company without a
    // domain to another's name, is refused and changes nothing; a change of its own name's case is not a twin.
    const auto update = [&](const cv1::Company& company, const std::string& path, const std::string& value) {
        cv1::UpdateCompanyRequest req;
        req.mutable_company()->set_id(company.id());
        if (path == "domain") req.mutable_company()->set_domain(value);
        if (path == "name") req.mutable_company()->set_name(value);
        req.mutable_update_mask()->add_paths(path);
        return api.UpdateCompany(req);
    };
    const cv1::Company initech = with_domain.response.company();
    auto onto_acme = update(initech, "domain", "http://ACME.com/");
    CHECK(onto_acme.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorReason(onto_acme.status) == "DUPLICATE_COMPANY");
    CHECK(ErrorMetadata(onto_acme.status, "existing_id") == recreated.response.company().id());
    CHECK(ErrorMetadata(onto_acme.status, "match") == "domain");
    auto renamed = update(named.response.company(), "name", "Globex");
    REQUIRE(renamed.ok());
    auto clash = update(renamed.response.company(), "name", " ACME ");
    CHECK(clash.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorMetadata(clash.status, "existing_id") == recreated.response.company().id());
    CHECK(ErrorMetadata(clash.status, "match") == "name");
    CHECK(QueryScalar("contacts", "SELECT name FROM companies WHERE id = '" + named.response.company().id() + "'") ==
          "Globex");
    auto own_case = update(initech, "domain", "INITECH.example");
    CHECK(own_case.ok());
    CHECK(QueryScalar("contacts", "SELECT domain FROM companies WHERE id = '" + initech.id() + "'") ==
          "initech.example");
}

TEST_CASE("contacts: merge keeps the union and tombstones the loser", "[integration][contacts][merge]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    EventTap tap("crm.contacts.v1");
    cv1::CreateContactRequest a;
    a.mutable_contact()->set_given_name("Ada");
    a.mutable_contact()->set_family_name("Lovelace");
    a.mutable_contact()->set_email("ada@example.com");
    a.mutable_contact()->add_tags("vip");
    auto survivor = api.CreateContact(a);
    REQUIRE(survivor.ok());
    cv1::CreateContactRequest b;
    b.mutable_contact()->set_given_name("Augusta Ada");
    b.mutable_contact()->set_family_name("King");
    b.mutable_contact()->set_phone("+44 20 7946 0000");
    b.mutable_contact()->set_job_title("Countess");
    b.mutable_contact()->add_tags("poet");
    auto loser = api.CreateContact(b);
    REQUIRE(loser.ok());

    cv1::MergeContactsRequest merge;
    merge.set_survivor_id(survivor.response.contact().id());
    merge.add_loser_ids(loser.response.contact().id());
    merge.set_request_id(crm::common::NewUuid());
    auto merged = api.MergeContacts(merge);
    INFO(merged.status.error_message());
    REQUIRE(merged.ok());
    const auto& s = merged.response.contact();
    CHECK(s.given_name() == "Ada");       // survivor's non-empty fields win
    CHECK(s.phone() == "+442079460000");  // empty fields are filled from the loser
    CHECK(s.job_title() == "Countess");
    CHECK(std::set<std::string>(s.tags().begin(), s.tags().end()) == std::set<std::string>{"vip", "poet"});

    cv1::GetContactRequest get;
    get.set_id(loser.response.contact().id());
    auto gone = api.GetContact(get);
    REQUIRE(gone.ok());
    CHECK(gone.response.contact().state() == cv1::CONTACT_STATE_MERGED);
    CHECK(gone.response.contact().merged_into_id() == s.id());

    SECTION("a retried merge with the same request_id returns the survivor and changes nothing") {
        auto again = api.MergeContacts(merge);
        REQUIRE(again.ok());
        CHECK(again.response.contact().id() == s.id());
        CHECK(again.response.contact().version() == s.version());
    }
    SECTION("merging a merged contact again is FAILED_PRECONDITION") {
        merge.set_request_id(crm::common::NewUuid());
        CHECK(api.MergeContacts(merge).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    }

    // Two creates and one merge; the two contacts may sit in different partitions, so only per-aggregate order holds.
    auto events = tap.WaitFor(tenant, 3, std::chrono::seconds(20));
    REQUIRE(events.size() == 3);
    const crm::test::ReceivedEvent* merged_event = nullptr;
    for (const auto& e : events) {
        if (e.envelope.event_type() == "crm.contacts.events.v1.ContactsMerged") merged_event = &e;
    }
    REQUIRE(merged_event != nullptr);
    CHECK(merged_event->envelope.aggregate_id() == s.id());
    ev1::ContactsMerged payload;
    REQUIRE(merged_event->envelope.payload().UnpackTo(&payload));
    CHECK(payload.survivor_id() == s.id());
    REQUIRE(payload.loser_ids_size() == 1);
    CHECK(payload.loser_ids(0) == loser.response.contact().id());
}

TEST_CASE("contacts: consent, GDPR export and erasure", "[integration][contacts][gdpr]") {
    const std::string tenant = UniqueTenant();
    ContactsClient api(TokenFor(tenant));
    EventTap tap("crm.contacts.v1");
    cv1::Contact c = api.MustCreate("Hedy", "Lamarr", "hedy@example.com", "+1 310 555 0123");

    cv1::UpdateContactConsentRequest consent;
    consent.set_id(c.id());
    consent.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    consent.set_source("web_form");
    auto opted = api.UpdateContactConsent(consent);
    INFO(opted.status.error_message());
    REQUIRE(opted.ok());
    CHECK(opted.response.contact().email_consent().status() == cv1::CONSENT_STATUS_OPTED_IN);
    CHECK(opted.response.contact().email_consent().source() == "web_form");
    CHECK(opted.response.contact().email_consent().change_time().seconds() > 0);

    cv1::ExportContactDataRequest exp;
    exp.set_id(c.id());
    auto exported = api.ExportContactData(exp);
    REQUIRE(exported.ok());
    auto doc = nlohmann::json::parse(exported.response.json());
    CHECK(doc.dump().find("hedy@example.com") != std::string::npos);
    CHECK(doc.dump().find("web_form") != std::string::npos);

    cv1::EraseContactRequest erase;
    erase.set_id(c.id());
    auto erased = api.EraseContact(erase);
    REQUIRE(erased.ok());
    CHECK(erased.response.contact().state() == cv1::CONTACT_STATE_ERASED);
    CHECK(erased.response.contact().email().empty());
    CHECK(erased.response.contact().given_name().empty());
    CHECK(erased.response.contact().phone().empty());

    // The personal data is gone from the database itself, not only from the API.
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant +
                                      "' AND (email = 'hedy@example.com' OR family_name = 'Lamarr' OR phone <> '')") ==
          "0");
    auto after = api.GetContact([&] {
        cv1::GetContactRequest g;
        g.set_id(c.id());
        return g;
    }());
    REQUIRE(after.ok());
    CHECK(after.response.contact().state() == cv1::CONTACT_STATE_ERASED);

    auto events = tap.WaitFor(tenant, 3, std::chrono::seconds(20));
    REQUIRE(events.size() == 3);
    CHECK(events[1].envelope.event_type() == "crm.contacts.events.v1.ContactConsentChanged");
    CHECK(events[2].envelope.event_type() == "crm.contacts.events.v1.ContactErased");
    // The erasure event carries no personal data.
    const std::string raw = events[2].envelope.SerializeAsString();
    CHECK(raw.find("hedy") == std::string::npos);
    CHECK(raw.find("Lamarr") == std::string::npos);
}
