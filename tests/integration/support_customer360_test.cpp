// GetCustomer360 through the gateway: a customer who came in as a lead (converted with an opportunity and a company),
// with a won deal, an activity, open and solved cases (the open one with its sentiment trend) and marketing's record:
// every section filled, with the caller's tenant; then with the sales service stopped (deploy/local/stack kill-app
// sales) the view still answers, the sales section marked UNAVAILABLE and the others filled, within the section
// deadline; a campaign e-mail sent to the person (Mailpit) and the click on its link show in the marketing section,
// and with marketing stopped that section is marked while the rest answers. Another tenant's contact is NOT_FOUND, a
// bad id INVALID_ARGUMENT, roles outside support PERMISSION_DENIED.
#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/marketing/v1/marketing.grpc.pb.h>
#include <crm/support/v1/customer360.grpc.pb.h>
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/http_client.hpp"
#include "../support/leads_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/marketing_client.hpp"
#include "../support/sales_client.hpp"
#include "../support/support_client.hpp"
#include "../support/wait.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace v1 = crm::support::v1;

namespace {

struct ViewResult {
    grpc::Status status;
    v1::GetCustomer360Response view;
    std::chrono::milliseconds took{0};
};

ViewResult View(const std::string& token, const std::string& contact_id) {
    auto stub = v1::CustomerViewService::NewStub(GatewayChannel());
    grpc::ClientContext ctx;
    PrepareFor(ctx, RpcName<v1::CustomerViewService>("GetCustomer360"), token);
    v1::GetCustomer360Request req;
    req.set_contact_id(contact_id);
    ViewResult r;
    const auto start = std::chrono::steady_clock::now();
    r.status = stub->GetCustomer360(&ctx, req, &r.view);
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return r;
}

std::string Between(const std::string& text, const std::string& start, char end) {
    const std::size_t at = text.find(start);
    if (at == std::string::npos) return "";
    const std::size_t from = at + start.size();
    return text.substr(from, text.find(end, from) - from);
}

// A campaign e-mail to the contact through marketing's API (the person opted in first), delivered to the local
// Mailpit; returns the path of its tracked link.
std::string SendCampaignMail(const std::string& admin, const std::string& contact_id, const std::string& email,
                             const std::string& campaign_name) {
    ContactsClient contacts(admin);
    MarketingClient api(admin);
    cv1::UpdateContactConsentRequest consent;
    consent.set_id(contact_id);
    consent.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    consent.set_source("web_form");
    REQUIRE(contacts.UpdateContactConsent(consent).ok());
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(contact_id);
        auto r = api.GetAudienceMember(get);
        return r.ok() && r.response.member().consent() == "opted_in";
    }));
    const mv1::Campaign campaign = api.MustCreateCampaign(campaign_name);
    api.MustSendTo(campaign.id(), contact_id, "Release notes", "What is new",
                   "<p>Hi</p><p><a href=\"https://example.com/notes\">Notes</a></p>", "Hi");
    Mailpit mailpit;
    const auto got = mailpit.WaitFor(email, 1, std::chrono::seconds(30));
    REQUIRE(got.size() == 1);
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id));
    const std::string click_path = "/r/" + Between(message["HTML"].get<std::string>(), "/r/", '"');
    REQUIRE(click_path.size() > 10);
    return click_path;
}

std::string AgentToken(const std::string& tenant) {
    return MintToken({.tenant = tenant, .user = "agent-360", .roles = {"support_agent"}});
}

}  // namespace

TEST_CASE("customer 360: every section filled, then sales stopped and its section marked while the rest answers",
          "[integration][support][customer360]") {
    const std::string tenant = UniqueTenant("c360");
    const std::string admin = TokenFor(tenant);
    LeadsClient leads(admin);
    SalesClient sales(admin);
    SupportClient support(admin);
    MarketingClient marketing(admin);

    // A lead converted with its company and an opportunity: the contact's origin.
    lv1::CreateLeadRequest lead_req;
    lead_req.mutable_lead()->set_given_name("Grace");
    lead_req.mutable_lead()->set_family_name("Hopper");
    lead_req.mutable_lead()->set_email("grace-" + crm::common::NewUuid().substr(0, 8) + "@navy.example");
    lead_req.mutable_lead()->set_company_name("US Navy " + crm::common::NewUuid().substr(0, 6));
    lead_req.mutable_lead()->set_source("webinar");
    auto created_lead = leads.CreateLead(lead_req);
    REQUIRE(created_lead.ok());
    const std::string lead_id = created_lead.response.lead().id();
    leads.MustMove(lead_id, {lv1::LEAD_STATUS_WORKING, lv1::LEAD_STATUS_QUALIFIED});
    lv1::ConvertLeadRequest convert;
    convert.set_id(lead_id);
    convert.set_create_opportunity(true);
    convert.mutable_opportunity()->set_name("COBOL compiler support");
    convert.mutable_opportunity()->mutable_amount()->set_amount_minor(990000);
    convert.mutable_opportunity()->mutable_amount()->set_currency_code("USD");
    auto converted = leads.ConvertLead(convert);
    INFO(converted.status.error_message());
    REQUIRE(converted.ok());
    const std::string contact_id = converted.response.conversion().contact_id();
    const std::string company_id = converted.response.conversion().company_id();
    const std::string open_opportunity = converted.response.conversion().opportunity_id();
    REQUIRE_FALSE(open_opportunity.empty());

    // A won deal and an activity on the contact.
    sv1::CreateOpportunityRequest won_req;
    won_req.mutable_opportunity()->set_name("Training days");
    won_req.mutable_opportunity()->set_contact_id(contact_id);
    won_req.mutable_opportunity()->mutable_amount()->set_amount_minor(120000);
    won_req.mutable_opportunity()->mutable_amount()->set_currency_code("USD");
    auto won_created = sales.CreateOpportunity(won_req);
    INFO(won_created.status.error_message());
    REQUIRE(won_created.ok());
    sv1::WinOpportunityRequest win;
    win.set_id(won_created.response.opportunity().id());
    REQUIRE(sales.WinOpportunity(win).ok());
    sv1::CreateActivityRequest activity;
    activity.mutable_activity()->set_type(sv1::ACTIVITY_TYPE_CALL);
    activity.mutable_activity()->set_subject("Kick-off call");
    activity.mutable_activity()->set_contact_id(contact_id);
    auto made_activity = sales.CreateActivity(activity);
    INFO(made_activity.status.error_message());
    REQUIRE(made_activity.ok());

    // Cases: one open, one solved.
    const spv1::Case open_case = support.MustCreateCase("Compiler crashes on PERFORM", contact_id);
    const spv1::Case solved_case = support.MustCreateCase("Licence question", contact_id);
    support.MustChangeStatus(solved_case.id(), spv1::CASE_STATUS_OPEN);
    support.MustChangeStatus(solved_case.id(), spv1::CASE_STATUS_SOLVED);
    // The open case's customer: angry first, then pleased (its sentiment trend improves).
    const double angry = support
                             .MustAddMessage(open_case.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE,
                                             "This is terrible, it broke again and I want a refund!")
                             .message()
                             .sentiment()
                             .score();
    const double pleased = support
                               .MustAddMessage(open_case.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE,
                                               "Thanks for the quick answer, great help.")
                               .message()
                               .sentiment()
                               .score();
    REQUIRE(pleased - angry >= 0.2);

    // Marketing builds its audience record from contacts' events: wait until the view shows it.
    const std::string agent = AgentToken(tenant);
    ViewResult full;
    const auto until = std::chrono::steady_clock::now() + 60s;
    do {
        full = View(agent, contact_id);
        INFO(full.status.error_message());
        REQUIRE(full.status.ok());
        if (full.view.marketing_section().status() == v1::SECTION_STATUS_OK) break;
        std::this_thread::sleep_for(250ms);
    } while (std::chrono::steady_clock::now() < until);
    const auto& v = full.view;
    INFO(v.DebugString());
    CHECK(v.contact_id() == contact_id);
    CHECK(v.contact_section().status() == v1::SECTION_STATUS_OK);
    CHECK(v.contact().id() == contact_id);
    CHECK(v.contact().email() == lead_req.lead().email());
    CHECK(v.company().id() == company_id);
    CHECK(v.company().name() == lead_req.lead().company_name());
    CHECK(v.sales_section().status() == v1::SECTION_STATUS_OK);
    REQUIRE(v.open_opportunities_size() == 1);
    CHECK(v.open_opportunities(0).id() == open_opportunity);
    CHECK(v.open_opportunities(0).amount().amount_minor() == 990000);
    REQUIRE(v.won_opportunities_size() == 1);
    CHECK(v.won_opportunities(0).status() == "OPPORTUNITY_STATUS_WON");
    REQUIRE(v.recent_activities_size() >= 1);
    bool call_seen = false;
    for (const auto& a : v.recent_activities()) call_seen = call_seen || a.subject() == "Kick-off call";
    CHECK(call_seen);
    CHECK(v.lead_section().status() == v1::SECTION_STATUS_OK);
    CHECK(v.originating_lead().id() == lead_id);
    CHECK(v.originating_lead().source() == "webinar");
    CHECK(v.originating_lead().status() == "LEAD_STATUS_CONVERTED");
    CHECK(v.cases_section().status() == v1::SECTION_STATUS_OK);
    REQUIRE(v.open_cases_size() == 1);
    CHECK(v.open_cases(0).id() == open_case.id());
    REQUIRE(v.recent_cases_size() == 2);
    CHECK(v.recent_cases(0).id() == solved_case.id());  // newest first
    CHECK(v.recent_cases(0).subject() == "Licence question");
    // The open case is among the latest too: read once, the same record (its sealed columns opened) in both lists.
    CHECK(v.recent_cases(1).id() == open_case.id());
    CHECK(v.open_cases(0).subject() == "Compiler crashes on PERFORM");
    CHECK(google::protobuf::util::MessageDifferencer::Equals(v.recent_cases(1), v.open_cases(0)));
    // The sentiment trend of the one case with scored customer messages.
    REQUIRE(v.case_sentiments_size() == 1);
    const auto& trend = v.case_sentiments(0);
    CHECK(trend.case_id() == open_case.id());
    REQUIRE(trend.recent_scores_size() == 2);
    CHECK(trend.recent_scores(0) == Approx(angry));
    CHECK(trend.recent_scores(1) == Approx(pleased));
    CHECK(trend.latest_score() == Approx(pleased));
    CHECK(trend.average_score() == Approx((angry + pleased) / 2));
    CHECK(trend.trend() == Approx(pleased - angry));
    CHECK(trend.direction() == v1::SENTIMENT_DIRECTION_IMPROVING);
    CHECK(v.marketing_section().status() == v1::SECTION_STATUS_OK);
    CHECK(v.marketing().state() == "active");
    CHECK(v.marketing().recent_engagements_size() == 0);  // nothing sent yet

    // Marketing engagement: a campaign e-mail really sent (Mailpit) and a click on its link show in the view, newest
    // first, with the campaign's name.
    const std::string campaign_name = "Release notes " + crm::common::NewUuid().substr(0, 6);
    const std::string click_path = SendCampaignMail(admin, contact_id, lead_req.lead().email(), campaign_name);
    HttpClient http(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    REQUIRE(http.Send("GET", click_path, {}, {}).status == 302);
    ViewResult engaged;
    REQUIRE(Eventually(
        [&] {
            engaged = View(agent, contact_id);
            return engaged.status.ok() && engaged.view.marketing().recent_engagements_size() == 2;
        },
        30s));
    {
        const auto& m = engaged.view;
        INFO(m.DebugString());
        CHECK(m.marketing_section().status() == v1::SECTION_STATUS_OK);
        CHECK(m.marketing().state() == "active");
        const auto& latest = m.marketing().recent_engagements(0);
        const auto& first = m.marketing().recent_engagements(1);
        CHECK(latest.type() == "email_clicked");
        CHECK(first.type() == "email_sent");
        for (const auto* e : {&latest, &first}) {
            CHECK(e->campaign_name() == campaign_name);
            CHECK(e->channel() == "email");
            CHECK_FALSE(e->campaign_id().empty());
        }
        CHECK(latest.occur_time().seconds() >= first.occur_time().seconds());
    }

    // Marketing stopped: its section is marked, every other section still answers, in time.
    {
        StackCommandAtExit restart("start-apps");
        StackCommand("kill-app marketing");
        const ViewResult degraded = View(agent, contact_id);
        INFO(degraded.status.error_message() << " " << degraded.view.DebugString());
        REQUIRE(degraded.status.ok());
        const auto& d = degraded.view;
        CHECK((d.marketing_section().status() == v1::SECTION_STATUS_UNAVAILABLE ||
               d.marketing_section().status() == v1::SECTION_STATUS_DEADLINE_EXCEEDED));
        CHECK(d.marketing().recent_engagements_size() == 0);
        CHECK(d.contact_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.sales_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.lead_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.cases_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.open_cases_size() == 1);
        CHECK(degraded.took < 5s);
    }
    // Back up: the marketing section fills again.
    REQUIRE(Eventually(
        [&] {
            const ViewResult r = View(agent, contact_id);
            return r.status.ok() && r.view.marketing_section().status() == v1::SECTION_STATUS_OK &&
                   r.view.marketing().recent_engagements_size() == 2;
        },
        60s));

    // Sales stopped: its section is marked, every other section still answers, in time.
    {
        StackCommandAtExit restart("start-apps");
        StackCommand("kill-app sales");
        const ViewResult degraded = View(agent, contact_id);
        INFO(degraded.status.error_message() << " " << degraded.view.DebugString());
        REQUIRE(degraded.status.ok());
        const auto& d = degraded.view;
        CHECK((d.sales_section().status() == v1::SECTION_STATUS_UNAVAILABLE ||
               d.sales_section().status() == v1::SECTION_STATUS_DEADLINE_EXCEEDED));
        CHECK(d.open_opportunities_size() == 0);
        CHECK(d.recent_activities_size() == 0);
        CHECK(d.contact_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.contact().id() == contact_id);
        CHECK(d.lead_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.cases_section().status() == v1::SECTION_STATUS_OK);
        CHECK(d.open_cases_size() == 1);
        CHECK(d.marketing_section().status() == v1::SECTION_STATUS_OK);
        CHECK(degraded.took < 5s);  // bounded by the section deadline, not by sales
    }
    // Back up (start-apps): the section fills again.
    ViewResult again;
    const auto back_until = std::chrono::steady_clock::now() + 60s;
    do {
        again = View(agent, contact_id);
        if (again.status.ok() && again.view.sales_section().status() == v1::SECTION_STATUS_OK) break;
        std::this_thread::sleep_for(250ms);
    } while (std::chrono::steady_clock::now() < back_until);
    CHECK(again.view.sales_section().status() == v1::SECTION_STATUS_OK);
    CHECK(again.view.won_opportunities_size() == 1);
}

TEST_CASE("customer 360: another tenant's contact, bad ids and roles", "[integration][support][customer360]") {
    const std::string owner = UniqueTenant("c360o");
    ContactsClient contacts(TokenFor(owner));
    const auto person = contacts.MustCreate("Ada", "Lovelace", "ada-" + crm::common::NewUuid().substr(0, 8) + "@x.io");
    const std::string other = UniqueTenant("c360x");
    CHECK(View(AgentToken(other), person.id()).status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(View(AgentToken(owner), crm::common::NewUuid()).status.error_code() == grpc::StatusCode::NOT_FOUND);
    const auto bad = View(AgentToken(owner), "not-a-uuid");
    CHECK(bad.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(bad.status, "contact_id"));
    const auto nul = View(AgentToken(owner), std::string("a\0b", 3));
    CHECK(HasViolation(nul.status, "contact_id"));
    const auto rep = View(MintToken({.tenant = owner, .user = "rep", .roles = {"sales_rep"}}), person.id());
    CHECK(rep.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    const auto mine = View(AgentToken(owner), person.id());
    REQUIRE(mine.status.ok());
    CHECK(mine.view.contact().display_name() == "Ada Lovelace");
    CHECK(mine.view.lead_section().status() == v1::SECTION_STATUS_NOT_FOUND);  // not from a lead
    CHECK(mine.view.open_cases_size() == 0);

    // The leads filter the view uses: a contact id must be a UUID; a contact no lead became has no lead.
    LeadsClient leads(TokenFor(owner));
    lv1::ListLeadsRequest by_contact;
    by_contact.set_contact_id("not-a-uuid");
    CHECK(HasViolation(leads.ListLeads(by_contact).status, "contact_id"));
    by_contact.set_contact_id(person.id());
    auto none = leads.ListLeads(by_contact);
    REQUIRE(none.ok());
    CHECK(none.response.leads_size() == 0);
}
