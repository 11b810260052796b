// An opportunity's contact_id and company_id are checked with the real contacts service when they are set or changed:
// unknown, deleted and another tenant's records are INVALID_ARGUMENT naming the field, contacts down is
// UNAVAILABLE, and nothing is written either way; a link that does not change is not checked again.
#include <catch2/catch.hpp>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/sales_client.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

cv1::Company MustCreateCompany(ContactsClient& contacts, const std::string& name) {
    cv1::CreateCompanyRequest req;
    req.mutable_company()->set_name(name);
    auto r = contacts.CreateCompany(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.company();
}

sv1::CreateOpportunityRequest Deal(const std::string& name, const std::string& contact_id,
                                   const std::string& company_id) {
    sv1::CreateOpportunityRequest req;
    req.mutable_opportunity()->set_name(name);
    req.mutable_opportunity()->mutable_amount()->set_amount_minor(5000);
    req.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    req.mutable_opportunity()->set_contact_id(contact_id);
    req.mutable_opportunity()->set_company_id(company_id);
    return req;
}

sv1::UpdateOpportunityRequest Relink(const sv1::Opportunity& deal, const char* path, const std::string& value) {
    sv1::UpdateOpportunityRequest req;
    req.mutable_opportunity()->set_id(deal.id());
    if (std::string(path) == "contact_id") req.mutable_opportunity()->set_contact_id(value);
    if (std::string(path) == "company_id") req.mutable_opportunity()->set_company_id(value);
    req.mutable_update_mask()->add_paths(path);
    return req;
}

std::string OutboxCount(const std::string& tenant) {
    return QueryScalar("sales", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'");
}

sv1::Opportunity Get(SalesClient& api, const std::string& id) {
    sv1::GetOpportunityRequest req;
    req.set_id(id);
    auto r = api.GetOpportunity(req);
    REQUIRE(r.ok());
    return r.response.opportunity();
}

}  // namespace

TEST_CASE("sales links: contacts and companies are checked on create and update", "[integration][sales][links]") {
    const std::string tenant = UniqueTenant("sl");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    ContactsClient contacts(TokenFor(tenant));
    const cv1::Contact person = contacts.MustCreate("Grace", "Buyer");
    const cv1::Company company = MustCreateCompany(contacts, "Linked " + tenant);
    const cv1::Contact gone = contacts.MustCreate("Gone", "Person");
    sv1::Pipeline pipeline = api.MustDefaultPipeline();  // the default pipeline's event is not part of the counts
    cv1::DeleteContactRequest delete_contact;
    delete_contact.set_id(gone.id());
    REQUIRE(contacts.DeleteContact(delete_contact).ok());
    const cv1::Company gone_company = MustCreateCompany(contacts, "Gone " + tenant);
    cv1::DeleteCompanyRequest delete_company;
    delete_company.set_id(gone_company.id());
    REQUIRE(contacts.DeleteCompany(delete_company).ok());
    const std::string other_tenant = UniqueTenant("sl");
    ContactsClient their_contacts(TokenFor(other_tenant));
    const cv1::Contact theirs = their_contacts.MustCreate("Their", "Contact");
    const cv1::Company their_company = MustCreateCompany(their_contacts, "Theirs " + other_tenant);
    const std::string unknown = "0d4c2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a";

    // Valid links: created.
    auto created = api.CreateOpportunity(Deal("Linked", person.id(), company.id()));
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    sv1::Opportunity deal = created.response.opportunity();
    CHECK(deal.contact_id() == person.id());
    CHECK(deal.company_id() == company.id());
    const std::string outbox = OutboxCount(tenant);

    // Bad links: every field named, nothing written.
    struct Case {
        const char* what;
        std::string contact_id, company_id;
        std::vector<std::string> fields;
    };
    const Case cases[] = {
        {"unknown", unknown, unknown, {"opportunity.contact_id", "opportunity.company_id"}},
        {"deleted", gone.id(), gone_company.id(), {"opportunity.contact_id", "opportunity.company_id"}},
        {"another tenant's", theirs.id(), their_company.id(), {"opportunity.contact_id", "opportunity.company_id"}},
        {"contact only", unknown, "", {"opportunity.contact_id"}},
        {"company only", "", their_company.id(), {"opportunity.company_id"}},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto r = api.CreateOpportunity(Deal(std::string("Bad ") + c.what, c.contact_id, c.company_id));
        CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        for (const auto& f : c.fields) CHECK(HasViolation(r.status, f));
        CHECK(FieldViolations(r.status).size() == c.fields.size());
    }
    CHECK(CountRows("opportunities", tenant) == 1);
    CHECK(OutboxCount(tenant) == outbox);

    // Updates: a bad new link is refused and changes nothing; a valid one is stored.
    for (const auto& [path, value] :
         std::vector<std::pair<const char*, std::string>>{{"contact_id", gone.id()},
                                                          {"contact_id", theirs.id()},
                                                          {"company_id", unknown},
                                                          {"company_id", gone_company.id()}}) {
        INFO(path << " " << value);
        auto r = api.UpdateOpportunity(Relink(deal, path, value));
        CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
        CHECK(HasViolation(r.status, std::string("opportunity.") + path));
    }
    CHECK(Get(api, deal.id()).SerializeAsString() == deal.SerializeAsString());
    CHECK(OutboxCount(tenant) == outbox);
    const cv1::Contact next = contacts.MustCreate("Next", "Buyer");
    auto relinked = api.UpdateOpportunity(Relink(deal, "contact_id", next.id()));
    INFO(relinked.status.error_message());
    REQUIRE(relinked.ok());
    deal = relinked.response.opportunity();
    CHECK(deal.contact_id() == next.id());

    // A link that was valid is not checked again when it does not change, even if its record is deleted since;
    // clearing a link needs no check.
    delete_contact.set_id(next.id());
    REQUIRE(contacts.DeleteContact(delete_contact).ok());
    sv1::UpdateOpportunityRequest keep;
    keep.mutable_opportunity()->set_id(deal.id());
    keep.mutable_opportunity()->set_name("Renamed");
    keep.mutable_opportunity()->set_contact_id(next.id());
    keep.mutable_update_mask()->add_paths("name");
    keep.mutable_update_mask()->add_paths("contact_id");
    auto kept = api.UpdateOpportunity(keep);
    INFO(kept.status.error_message());
    REQUIRE(kept.ok());
    CHECK(kept.response.opportunity().name() == "Renamed");
    auto cleared = api.UpdateOpportunity(Relink(kept.response.opportunity(), "company_id", ""));
    REQUIRE(cleared.ok());
    CHECK(cleared.response.opportunity().company_id().empty());

    // A retried create returns the first deal even when its contact was deleted since.
    auto first = api.CreateOpportunity([&] {
        auto req = Deal("Retried", person.id(), "");
        req.set_request_id("links-retry-1");
        return req;
    }());
    REQUIRE(first.ok());
    delete_contact.set_id(person.id());
    REQUIRE(contacts.DeleteContact(delete_contact).ok());
    auto retried = api.CreateOpportunity([&] {
        auto req = Deal("Retried", person.id(), "");
        req.set_request_id("links-retry-1");
        return req;
    }());
    INFO(retried.status.error_message());
    REQUIRE(retried.ok());
    CHECK(retried.response.opportunity().id() == first.response.opportunity().id());
    (void)pipeline;
}

TEST_CASE("sales links: with contacts down a linked create or update is UNAVAILABLE and writes nothing",
          "[integration][sales][links][outage]") {
    const std::string tenant = UniqueTenant("sl");
    SalesClient api(TokenFor(tenant, {"sales_rep"}));
    ContactsClient contacts(TokenFor(tenant));
    const cv1::Contact person = contacts.MustCreate("Linus", "Buyer");
    const cv1::Company company = MustCreateCompany(contacts, "Outage " + tenant);
    const sv1::Opportunity deal = api.MustCreateOpportunity("Unlinked", 100);
    const std::string outbox = OutboxCount(tenant);

    StackCommandAtExit restart("start-apps");
    StackCommand("kill-app contacts");

    auto create = api.CreateOpportunity(Deal("Linked while down", person.id(), company.id()));
    CHECK(create.status.error_code() == grpc::StatusCode::UNAVAILABLE);
    auto update = api.UpdateOpportunity(Relink(deal, "contact_id", person.id()));
    CHECK(update.status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(CountRows("opportunities", tenant) == 1);
    CHECK(Get(api, deal.id()).SerializeAsString() == deal.SerializeAsString());
    CHECK(OutboxCount(tenant) == outbox);
    // Deals without links do not need contacts.
    api.MustCreateOpportunity("Still possible", 100);

    StackCommand("start-apps");
    // Every app restarts: wait, bounded, until a linked create goes through again.
    grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
    for (int i = 0; i < 120 && code != grpc::StatusCode::OK; ++i) {
        code = api.CreateOpportunity(Deal("Linked again", person.id(), company.id())).status.error_code();
        if (code != grpc::StatusCode::OK) std::this_thread::sleep_for(500ms);
    }
    CHECK(code == grpc::StatusCode::OK);
}
