// ConvertLead end to end through the gateway: the leads service calls contacts (and sales) over gRPC with
// idempotency keys derived from the lead id. New person, existing duplicate person, with and without opportunity,
// retried, and a crash between the calls (a test-only failpoint makes the service exit half-way).
#include <crm/leads/events/v1/events.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/leads_client.hpp"

using namespace crm::test;
namespace lev1 = crm::leads::events::v1;
namespace sv1 = crm::sales::v1;

namespace {
std::string Email(const std::string& local) {
    return local + "-" + crm::common::NewUuid().substr(0, 8) + "@example.com";
}

lv1::Lead QualifiedLead(LeadsClient& api, const std::string& email, const std::string& company) {
    lv1::CreateLeadRequest req;
    req.mutable_lead()->set_given_name("Katherine");
    req.mutable_lead()->set_family_name("Johnson");
    req.mutable_lead()->set_email(email);
    req.mutable_lead()->set_job_title("Mathematician");
    req.mutable_lead()->set_company_name(company);
    req.mutable_lead()->set_campaign_id("cmp-convert");
    auto r = api.CreateLead(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return api.MustMove(r.response.lead().id(), {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED});
}

std::string ContactsWithEmail(const std::string& tenant, const std::string& email) {
    // Stored sealed: counted by its blind index.
    return QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant +
                                       "' AND email_index = '" + BlindIndexOf(tenant, "contacts.email", email) + "'");
}
std::string CompaniesNamed(const std::string& tenant, const std::string& name) {
    return QueryScalar("contacts",
                       "SELECT count(*) FROM companies WHERE tenant_id = '" + tenant + "' AND name = '" + name + "'");
}
bool SalesInStack() { return std::getenv("CRM_TEST_SALES") != nullptr; }

lv1::ConvertLeadRequest WithOpportunity(const std::string& id) {
    lv1::ConvertLeadRequest req;
    req.set_id(id);
    req.set_create_opportunity(true);
    req.mutable_opportunity()->set_name("Orbital mechanics package");
    req.mutable_opportunity()->mutable_amount()->set_amount_minor(1250000);
    req.mutable_opportunity()->mutable_amount()->set_currency_code("USD");
    return req;
}
}  // namespace

TEST_CASE("leads conversion: a new person and company are created once, and converting again returns the first result",
          "[integration][leads][conversion]") {
    const std::string tenant = UniqueTenant();
    const std::string token = TokenFor(tenant);
    LeadsClient api(token);
    ContactsClient contacts(token);
    const std::string email = Email("katherine");
    EventTap tap("crm.leads.v1");
    const lv1::Lead lead = QualifiedLead(api, email, "NASA Langley");

    lv1::ConvertLeadRequest req;
    req.set_id(lead.id());
    auto first = api.ConvertLead(req);
    INFO(first.status.error_message());
    REQUIRE(first.ok());
    const auto& conv = first.response.conversion();
    CHECK(crm::common::IsUuid(conv.contact_id()));
    CHECK(crm::common::IsUuid(conv.company_id()));
    CHECK(conv.opportunity_id().empty());
    CHECK_FALSE(conv.contact_existed());
    CHECK_FALSE(conv.company_existed());
    CHECK(first.response.lead().status() == lv1::LEAD_STATUS_CONVERTED);
    CHECK(first.response.lead().conversion().contact_id() == conv.contact_id());

    // The person exists in contacts with the lead's data, linked to the company.
    cv1::GetContactRequest get;
    get.set_id(conv.contact_id());
    auto person = contacts.GetContact(get);
    REQUIRE(person.ok());
    CHECK(person.response.contact().email() == email);
    CHECK(person.response.contact().family_name() == "Johnson");
    CHECK(person.response.contact().company_id() == conv.company_id());

    // Again: the first result, nothing new anywhere.
    auto second = api.ConvertLead(req);
    REQUIRE(second.ok());
    CHECK(second.response.conversion().contact_id() == conv.contact_id());
    CHECK(second.response.conversion().company_id() == conv.company_id());
    CHECK(second.response.conversion().convert_time().seconds() == conv.convert_time().seconds());
    CHECK(ContactsWithEmail(tenant, email) == "1");
    CHECK(CompaniesNamed(tenant, "NASA Langley") == "1");

    // Converted leads are read-only.
    lv1::ChangeLeadStatusRequest move;
    move.set_id(lead.id());
    move.set_status(lv1::LEAD_STATUS_WORKING);
    CHECK(api.ChangeLeadStatus(move).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

    // Created, two status changes, converted: one LeadConverted, none for the repeated call.
    auto events = tap.WaitFor(tenant, 4, std::chrono::seconds(30), std::chrono::seconds(2));
    REQUIRE(events.size() == 4);
    CHECK(events[3].envelope.event_type() == "crm.leads.events.v1.LeadConverted");
    CHECK(events[3].envelope.aggregate_version() == 4);
    lev1::LeadConverted converted;
    REQUIRE(events[3].envelope.payload().UnpackTo(&converted));
    CHECK(converted.contact_id() == conv.contact_id());
    CHECK(converted.company_id() == conv.company_id());
    CHECK(converted.from_status() == lv1::LEAD_STATUS_QUALIFIED);
    CHECK(converted.convert_time().seconds() > 0);
    CHECK(converted.lead().campaign_id() == "cmp-convert");
    CHECK(converted.lead().status() == lv1::LEAD_STATUS_CONVERTED);
}

TEST_CASE("leads conversion: an existing contact with the lead's email is linked, not duplicated",
          "[integration][leads][conversion]") {
    const std::string tenant = UniqueTenant();
    const std::string token = TokenFor(tenant);
    LeadsClient api(token);
    ContactsClient contacts(token);
    const std::string email = Email("existing");
    const cv1::Contact existing = contacts.MustCreate("Kathy", "Johnson", email);
    const lv1::Lead lead = QualifiedLead(api, email, "");

    lv1::ConvertLeadRequest req;
    req.set_id(lead.id());
    auto r = api.ConvertLead(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    CHECK(r.response.conversion().contact_id() == existing.id());
    CHECK(r.response.conversion().contact_existed());
    CHECK(r.response.conversion().company_id().empty());  // no company name on the lead
    CHECK(ContactsWithEmail(tenant, email) == "1");
    auto again = api.ConvertLead(req);
    REQUIRE(again.ok());
    CHECK(again.response.conversion().contact_id() == existing.id());
}

TEST_CASE("leads conversion: a lead without email is linked to the contact with its phone and a similar name",
          "[integration][leads][conversion]") {
    const std::string tenant = UniqueTenant();
    const std::string token = TokenFor(tenant);
    LeadsClient api(token);
    ContactsClient contacts(token);
    const cv1::Contact existing = contacts.MustCreate("Dorothy", "Vaughan", "", "+1 757 555 0142");
    const auto contacts_count = [&] {
        return QueryScalar("contacts", "SELECT count(*) FROM contacts WHERE tenant_id = '" + tenant + "'");
    };
    const auto phone_lead = [&](const std::string& given, const std::string& family, const std::string& phone) {
        lv1::CreateLeadRequest req;
        req.mutable_lead()->set_given_name(given);
        req.mutable_lead()->set_family_name(family);
        req.mutable_lead()->set_phone(phone);
        auto r = api.CreateLead(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return api.MustMove(r.response.lead().id(), {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED});
    };
    const auto convert = [&](const lv1::Lead& lead) {
        lv1::ConvertLeadRequest req;
        req.set_id(lead.id());
        auto r = api.ConvertLead(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.conversion();
    };

    // The same person written differently (case, phone format): linked, nothing created.
    const auto same = convert(phone_lead("DOROTHY", "vaughan", "+1 (757) 555-0142"));
    CHECK(same.contact_id() == existing.id());
    CHECK(same.contact_existed());
    CHECK(contacts_count() == "1");
    // The same phone under another name (a shared switchboard): a new person.
    const auto other = convert(phone_lead("Mary", "Jackson", "+1 757 555 0142"));
    CHECK(other.contact_id() != existing.id());
    CHECK_FALSE(other.contact_existed());
    CHECK(contacts_count() == "2");
}

TEST_CASE("leads conversion: an existing company with the lead's company name is linked, not duplicated",
          "[integration][leads][conversion]") {
    const std::string tenant = UniqueTenant();
    const std::string token = TokenFor(tenant);
    LeadsClient api(token);
    ContactsClient contacts(token);
    cv1::CreateCompanyRequest company;
    company.mutable_company()->set_name("Jet Propulsion Laboratory");
    auto existing = contacts.CreateCompany(company);
    INFO(existing.status.error_message());
    REQUIRE(existing.ok());
    const std::string email = Email("linked");
    const lv1::Lead lead = QualifiedLead(api, email, "jet propulsion laboratory");

    lv1::ConvertLeadRequest req;
    req.set_id(lead.id());
    auto r = api.ConvertLead(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    const auto& conv = r.response.conversion();
    CHECK(conv.company_id() == existing.response.company().id());
    CHECK(conv.company_existed());
    CHECK_FALSE(conv.contact_existed());
    CHECK(QueryScalar("contacts", "SELECT count(*) FROM companies WHERE tenant_id = '" + tenant + "'") == "1");

    // The new person belongs to the existing company; converting again returns the same result.
    cv1::GetContactRequest get;
    get.set_id(conv.contact_id());
    auto person = contacts.GetContact(get);
    REQUIRE(person.ok());
    CHECK(person.response.contact().company_id() == existing.response.company().id());
    auto again = api.ConvertLead(req);
    REQUIRE(again.ok());
    CHECK(again.response.conversion().company_id() == existing.response.company().id());
    CHECK(again.response.conversion().company_existed());
    CHECK(ContactsWithEmail(tenant, email) == "1");
}

TEST_CASE("leads conversion: only qualified leads convert, and refusals write nothing",
          "[integration][leads][conversion]") {
    const std::string tenant = UniqueTenant();
    LeadsClient api(TokenFor(tenant));
    const std::string email = Email("early");
    const lv1::Lead lead = api.MustCreate("Early", email);
    lv1::ConvertLeadRequest req;
    req.set_id(lead.id());
    auto r = api.ConvertLead(req);
    CHECK(r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(r.status) == "INVALID_TRANSITION");
    api.MustMove(lead.id(), {lv1::LEAD_STATUS_WORKING});
    CHECK(api.ConvertLead(req).status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    req.set_etag("v1");  // stale
    req.set_allow_unqualified(true);
    CHECK(api.ConvertLead(req).status.error_code() == grpc::StatusCode::ABORTED);
    CHECK(ContactsWithEmail(tenant, email) == "0");
    req.clear_etag();
    auto ok = api.ConvertLead(req);  // WORKING with allow_unqualified
    INFO(ok.status.error_message());
    CHECK(ok.ok());
}

TEST_CASE("leads conversion: with an opportunity in sales, and without", "[integration][leads][conversion]") {
    const std::string tenant = UniqueTenant();
    const std::string token = TokenFor(tenant);
    LeadsClient api(token);
    const std::string email = Email("deal");
    const lv1::Lead lead = QualifiedLead(api, email, "Deal Corp");
    auto r = api.ConvertLead(WithOpportunity(lead.id()));
    if (!SalesInStack()) {
        // No sales service in this stack: refused before anything is written anywhere.
        CHECK(r.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
        CHECK(ErrorReason(r.status) == "SALES_NOT_CONFIGURED");
        CHECK(ContactsWithEmail(tenant, email) == "0");
        CHECK(CompaniesNamed(tenant, "Deal Corp") == "0");
        return;
    }
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    const auto& conv = r.response.conversion();
    REQUIRE(crm::common::IsUuid(conv.opportunity_id()));
    auto sales = sv1::SalesService::NewStub(GatewayChannel());
    sv1::GetOpportunityRequest get;
    get.set_id(conv.opportunity_id());
    sv1::GetOpportunityResponse opp;
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    REQUIRE(sales->GetOpportunity(&ctx, get, &opp).ok());
    CHECK(opp.opportunity().contact_id() == conv.contact_id());
    CHECK(opp.opportunity().company_id() == conv.company_id());
    CHECK(opp.opportunity().lead_id() == lead.id());
    CHECK(opp.opportunity().amount().amount_minor() == 1250000);
    auto again = api.ConvertLead(WithOpportunity(lead.id()));
    REQUIRE(again.ok());
    CHECK(again.response.conversion().opportunity_id() == conv.opportunity_id());
    CHECK(QueryScalar("sales", "SELECT count(*) FROM opportunities WHERE tenant_id = '" + tenant + "'") == "1");
}

TEST_CASE("leads conversion: a crash between the contacts call and the rest, then a retry, creates no doubles",
          "[integration][leads][conversion][crash]") {
    const std::string tenant = UniqueTenant();
    const std::string token = TokenFor(tenant);
    LeadsClient api(token);
    const std::string email = Email("crash");
    const lv1::Lead lead = QualifiedLead(api, email, "Crash Test Dummies");

    // Restart the services with the failpoint: leads crashes right after the contacts calls of a conversion.
    REQUIRE(setenv("CRM_FAILPOINTS", "leads.convert.after_contacts=crash", 1) == 0);
    StackCommand("start-apps");
    lv1::ConvertLeadRequest req;
    req.set_id(lead.id());
    auto crashed = api.ConvertLead(req);
    CHECK_FALSE(crashed.ok());
    REQUIRE(unsetenv("CRM_FAILPOINTS") == 0);
    StackCommand("start-apps");

    // The person and company exist, the lead is not converted yet.
    CHECK(ContactsWithEmail(tenant, email) == "1");
    CHECK(CompaniesNamed(tenant, "Crash Test Dummies") == "1");
    lv1::GetLeadRequest get;
    get.set_id(lead.id());
    auto half = api.GetLead(get);
    REQUIRE(half.ok());
    CHECK(half.response.lead().status() == lv1::LEAD_STATUS_QUALIFIED);

    auto retried = api.ConvertLead(req);
    INFO(retried.status.error_message());
    REQUIRE(retried.ok());
    CHECK_FALSE(retried.response.conversion().contact_existed());  // the idempotency key returned the same contact
    CHECK(ContactsWithEmail(tenant, email) == "1");
    CHECK(CompaniesNamed(tenant, "Crash Test Dummies") == "1");
    CHECK(QueryScalar("contacts", "SELECT id::text FROM contacts WHERE tenant_id = '" + tenant + "'") ==
          retried.response.conversion().contact_id());
}
