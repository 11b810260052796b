// The end-to-end scenario through the gateway: a whitepaper download enrols a lead in a sequence; its first
// email reaches the local SMTP server with List-Unsubscribe headers that work; the click is recorded and raises the
// lead's score; the sequence qualifies the lead through leads' API; the lead converts (its enrolment exits) and the
// deal is won; GetCampaignPerformance shows the revenue split under each model exactly as computed by hand (three
// campaigns, five touches, two currencies). An unsubscribed, an erased and a hard-bounced person get nothing from the
// sequences.
#include <crm/contacts/v1/contacts.grpc.pb.h>
#include <crm/marketing/events/v1/events.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "../support/contacts_client.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/sales_client.hpp"
#include "../support/sequences.hpp"

using namespace crm::test;
using namespace crm::test::seq;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kDay = 86'400'000'000;

HttpReply Http(const std::string& method, const std::string& target) {
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    return client.Send(method, target, {}, {});
}

// model -> "CUR amount" of the campaign's won revenue.
std::map<std::string, std::string> Revenue(const mv1::GetCampaignPerformanceResponse& p) {
    std::map<std::string, std::string> out;
    for (const auto& m : p.won_revenue()) {
        out[m.model()] += (out[m.model()].empty() ? "" : " ") + m.revenue().currency_code() + " " +
                          std::to_string(m.revenue().amount_minor());
    }
    return out;
}

void Download(LeadsClient& leads, const std::string& lead_id) {
    lv1::RecordEngagementRequest download;
    download.set_lead_id(lead_id);
    download.mutable_engagement()->set_type("whitepaper_download");
    download.mutable_engagement()->set_direction(lv1::ENGAGEMENT_DIRECTION_INBOUND);
    REQUIRE(leads.RecordEngagement(download).ok());
}

std::string UnsubscribePath(Mailpit& mailpit, const ReceivedMail& mail) {
    const auto headers = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + mail.id + "/headers"));
    REQUIRE(headers["List-Unsubscribe-Post"][0] == "List-Unsubscribe=One-Click");
    return "/u/" + Between(headers["List-Unsubscribe"][0].get<std::string>(), "/u/", '>');
}

mv1::SequenceEnrolment EnrolmentOf(MarketingClient& api, const std::string& sequence, const std::string& person) {
    for (const auto& e : Enrolments(api, sequence)) {
        if (e.person_id() == person) return e;
    }
    return {};
}

}  // namespace

TEST_CASE(
    "marketing end to end: a whitepaper download enrols a lead, the click raises its score, it converts, and the won "
    "deal is split by hand - the unsubscribed, the erased and the hard-bounced get nothing",
    "[integration][marketing][e2e]") {
    const std::string tenant = UniqueTenant("me2e");
    const std::string token = TokenFor(tenant, {"admin"});
    LeadsClient leads(token);
    MarketingClient api(token);
    ContactsClient contacts(token);
    SalesClient sales(token);
    Mailpit mailpit;

    // Leads scores an email click 25 points.
    lv1::UpdateScoringRulesRequest rules;
    rules.mutable_scoring_rules()->set_engagement_half_life_days(3650);
    auto* rule = rules.mutable_scoring_rules()->add_rules();
    rule->set_name("clicked an email");
    rule->mutable_engagement()->set_type("email_clicked");
    rule->set_weight(25);
    REQUIRE(leads.UpdateScoringRules(rules).ok());

    const mv1::Campaign a = api.MustCreateCampaign("Whitepaper (A)");
    const mv1::Campaign b = api.MustCreateCampaign("Trade show (B)");
    const mv1::Campaign c = api.MustCreateCampaign("Webinar (C)");
    const mv1::EmailTemplate welcome = Template(api, "Your whitepaper", "https://example.com/whitepaper");
    const mv1::EmailTemplate reminder = Template(api, "Did you read it", "https://example.com/whitepaper");

    // The sequence: the whitepaper email; after a pause, a click qualifies the lead (and a follow-up waits a day),
    // no click gets a reminder.
    mv1::Sequence def;
    def.set_name("Whitepaper journey");
    def.mutable_trigger()->set_type(mv1::SEQUENCE_TRIGGER_TYPE_LEAD_ENGAGEMENT);
    def.mutable_trigger()->set_value("whitepaper_download");
    *def.add_steps() = SendStep("welcome", a.id(), welcome.id());
    *def.add_steps() = WaitStep("pause", 20);
    mv1::SequenceStep check;
    check.set_id("clicked");
    check.mutable_branch()->mutable_condition()->set_clicked_step("welcome");
    check.mutable_branch()->set_then_step("qualify");
    *def.add_steps() = check;
    *def.add_steps() = SendStep("reminder", a.id(), reminder.id());
    *def.add_steps() = StopStep("end");
    mv1::SequenceStep qualify;
    qualify.set_id("qualify");
    qualify.mutable_change_lead_status()->set_status("qualified");
    *def.add_steps() = qualify;
    *def.add_steps() = WaitStep("a-day", 86400);
    *def.add_steps() = SendStep("follow-up", a.id(), reminder.id());
    const mv1::Sequence journey = MustCreateSequence(api, def);

    // A second sequence for new VIP contacts: a message after ten seconds.
    mv1::Sequence vip;
    vip.set_name("VIP welcome");
    vip.mutable_trigger()->set_type(mv1::SEQUENCE_TRIGGER_TYPE_CONTACT_CREATED);
    vip.mutable_trigger()->set_value("vip");
    *vip.add_steps() = WaitStep("settle", 10);
    *vip.add_steps() = SendStep("hello", a.id(), welcome.id());
    const mv1::Sequence vips = MustCreateSequence(api, vip);

    // Ula unsubscribed (one click, RFC 8058) from an earlier newsletter; Uma will from the sequence's first email;
    // Bob's address bounces hard.
    const std::string ann_email = UniqueEmail("ann"), ula_email = UniqueEmail("ula"), uma_email = UniqueEmail("uma");
    const std::string bob_email = "bob." + crm::common::NewUuid().substr(0, 8) + "@bounce.invalid";
    const lv1::Lead ann = ConsentingLead(leads, api, "Ann", ann_email);
    const lv1::Lead ula = ConsentingLead(leads, api, "Ula", ula_email);
    const lv1::Lead uma = ConsentingLead(leads, api, "Uma", uma_email);
    const lv1::Lead bob = ConsentingLead(leads, api, "Bob", bob_email);
    {
        mv1::CreateSegmentRequest list;
        list.mutable_segment()->set_name("Newsletter");
        list.mutable_segment()->set_type(mv1::SEGMENT_TYPE_STATIC);
        auto segment = api.CreateSegment(list);
        REQUIRE(segment.ok());
        mv1::AddSegmentMembersRequest add;
        add.set_segment_id(segment.response.segment().id());
        add.add_person_ids(ula.id());
        REQUIRE(api.AddSegmentMembers(add).ok());
        mv1::CreateEmailSendRequest send;
        send.mutable_send()->set_campaign_id(b.id());
        send.mutable_send()->set_template_id(reminder.id());
        send.mutable_send()->set_segment_id(segment.response.segment().id());
        REQUIRE(api.CreateEmailSend(send).ok());
        const auto newsletter = mailpit.WaitFor(ula_email, 1, 30s);
        REQUIRE(newsletter.size() == 1);
        REQUIRE(Http("POST", UnsubscribePath(mailpit, newsletter[0])).status == 200);
    }

    for (const auto* lead : {&ann, &ula, &uma, &bob}) Download(leads, lead->id());

    // Ann's and Uma's first emails arrive with working one-click unsubscribe headers; Ula's and Bob's never.
    const auto ann_mail = mailpit.WaitFor(ann_email, 1, 30s);
    REQUIRE(ann_mail.size() == 1);
    CHECK(ann_mail[0].subject == "Your whitepaper for Ann");
    const auto uma_mail = mailpit.WaitFor(uma_email, 1, 30s);
    REQUIRE(uma_mail.size() == 1);
    REQUIRE(Http("POST", UnsubscribePath(mailpit, uma_mail[0])).status == 200);
    CHECK(QueryScalar("marketing", "SELECT reason FROM suppressions WHERE tenant_id = '" + tenant + "' AND email = '" +
                                       uma_email + "'") == "unsubscribed");
    REQUIRE(Eventually([&] { return EnrolmentOf(api, journey.id(), uma.id()).exit_reason() == "unsubscribed"; }));
    REQUIRE(Eventually([&] { return EnrolmentOf(api, journey.id(), ula.id()).exit_reason() == "unsubscribed"; }));

    // Ann clicks: a touch of campaign A, and leads raises her score by the click's rule.
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + ann_mail[0].id));
    REQUIRE(Http("GET", "/r/" + Between(message["HTML"].get<std::string>(), "/r/", '"')).status == 302);
    lv1::GetLeadRequest get_ann;
    get_ann.set_id(ann.id());
    REQUIRE(Eventually([&] { return leads.GetLead(get_ann).response.lead().score() == 25; }));

    // Erin, a new VIP contact who consented, is erased before her message is due.
    const std::string erin_email = UniqueEmail("erin");
    cv1::CreateContactRequest create_erin;
    create_erin.mutable_contact()->set_given_name("Erin");
    create_erin.mutable_contact()->set_family_name("Tester");
    create_erin.mutable_contact()->set_email(erin_email);
    create_erin.mutable_contact()->add_tags("VIP");
    auto erin = contacts.CreateContact(create_erin);
    INFO(erin.status.error_message());
    REQUIRE(erin.ok());
    const std::string erin_id = erin.response.contact().id();
    cv1::UpdateContactConsentRequest consent;
    consent.set_id(erin_id);
    consent.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    consent.set_source("web_form");
    REQUIRE(contacts.UpdateContactConsent(consent).ok());
    REQUIRE(Eventually([&] { return Enrolments(api, vips.id()).size() == 1; }));
    cv1::EraseContactRequest erase;
    erase.set_id(erin_id);
    REQUIRE(contacts.EraseContact(erase).ok());
    REQUIRE(Eventually([&] {
        const auto e = Enrolments(api, vips.id());
        return e.size() == 1 && e[0].exit_reason() == "erased" && e[0].person_id().empty();
    }));

    // After the pause the branch sees Ann's click and qualifies her; Bob (bounced) got no reminder either.
    REQUIRE(
        Eventually([&] { return leads.GetLead(get_ann).response.lead().status() == lv1::LEAD_STATUS_QUALIFIED; }, 60s));
    REQUIRE(Eventually([&] { return EnrolmentOf(api, journey.id(), bob.id()).exit_reason() == "stopped"; }, 60s));
    CHECK(Eventually([&] { return EnrolmentOf(api, journey.id(), ann.id()).next_step() == "follow-up"; }));
    CHECK(QueryScalar("marketing",
                      "SELECT string_agg(step_id || '=' || outcome, ',' ORDER BY run_seq) FROM "
                      "sequence_step_runs r JOIN sequence_enrolments e ON e.tenant_id = r.tenant_id AND "
                      "e.id = r.enrolment_id WHERE e.tenant_id = '" +
                          tenant + "' AND e.person_id = '" + bob.id() + "'") ==
          "welcome=queued,pause=waiting,clicked=else,reminder=not_deliverable,end=stopped");

    // Ann converts with a deal of EUR 100.00: her enrolment exits (no follow-up); the deal is won.
    lv1::ConvertLeadRequest convert;
    convert.set_id(ann.id());
    convert.set_create_opportunity(true);
    convert.set_skip_company(true);
    convert.mutable_opportunity()->set_name("Whitepaper deal");
    convert.mutable_opportunity()->mutable_amount()->set_amount_minor(10000);
    convert.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    auto converted = leads.ConvertLead(convert);
    INFO(converted.status.error_message());
    REQUIRE(converted.ok());
    REQUIRE(Eventually([&] { return EnrolmentOf(api, journey.id(), ann.id()).exit_reason() == "converted"; }));

    // Ann's earlier touches (a trade show, a webinar, an earlier whitepaper click: 20, 10 and 5 days before her click
    // today), and Yvonne, a customer touched by the trade show a day before her USD deal.
    const std::string t = "'" + tenant + "'";
    const std::int64_t click = std::stoll(QueryScalar(
        "marketing", "SELECT (extract(epoch FROM occur_time) * 1000000)::bigint FROM engagements WHERE tenant_id = " +
                         t + " AND person_id = '" + ann.id() + "' AND type = 'email_clicked'"));
    auto touch = [&](const std::string& person, const mv1::Campaign& campaign, std::int64_t at) {
        QueryScalar("marketing",
                    "INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, occur_time) VALUES (" + t +
                        ", gen_random_uuid(), '" + person + "', 'link_clicked', '" + campaign.id() +
                        "', timestamptz 'epoch' + " + std::to_string(at) + " * interval '1 microsecond') RETURNING 1");
    };
    touch(ann.id(), b, click - 20 * kDay);
    touch(ann.id(), c, click - 10 * kDay);
    touch(ann.id(), a, click - 5 * kDay);
    const cv1::Contact yvonne = contacts.MustCreate("Yvonne", "Customer", UniqueEmail("yvonne"));
    touch(yvonne.id(), b, click - kDay);
    sv1::CreateOpportunityRequest usd;
    usd.mutable_opportunity()->set_name("Trade show deal");
    usd.mutable_opportunity()->set_contact_id(yvonne.id());
    usd.mutable_opportunity()->mutable_amount()->set_amount_minor(999);
    usd.mutable_opportunity()->mutable_amount()->set_currency_code("USD");
    auto usd_deal = sales.CreateOpportunity(usd);
    INFO(usd_deal.status.error_message());
    REQUIRE(usd_deal.ok());
    for (const std::string& deal :
         {converted.response.conversion().opportunity_id(), usd_deal.response.opportunity().id()}) {
        sv1::WinOpportunityRequest win;
        win.set_id(deal);
        auto won = sales.WinOpportunity(win);
        INFO(won.status.error_message());
        REQUIRE(won.ok());
    }

    // By hand. The EUR 100.00 deal: Ann's touches B(-20d) C(-10d) A(-5d) A(0, the click), ages from the click (a
    // common offset to the close changes no ratio): first B 10000; last A 10000; linear 2500 each: A 5000, B 2500,
    // C 2500; U-shaped 40/10/10/40: B 4000, C 1000, A 1000 + 4000; time decay, weights 2^(-20/7), 2^(-10/7), 2^(-5/7),
    // 1 = 0.138021, 0.371499, 0.609507, 1 of 2.119027: 651.30, 1753.17, 2876.37, 4719.17 -> floors 9999, the cent to
    // the largest remainder (A -5d): B 651, C 1753, A 2877 + 4719 = 7596. The USD 9.99 deal: one touch B, 999 to B
    // under every model.
    mv1::GetCampaignPerformanceRequest perf;
    const std::map<std::string, std::map<std::string, std::string>> expected = {
        {a.id(),
         {{"last_touch", "EUR 10000"}, {"linear", "EUR 5000"}, {"time_decay", "EUR 7596"}, {"u_shaped", "EUR 5000"}}},
        {b.id(),
         {{"first_touch", "EUR 10000 USD 999"},
          {"last_touch", "USD 999"},
          {"linear", "EUR 2500 USD 999"},
          {"time_decay", "EUR 651 USD 999"},
          {"u_shaped", "EUR 4000 USD 999"}}},
        {c.id(), {{"linear", "EUR 2500"}, {"time_decay", "EUR 1753"}, {"u_shaped", "EUR 1000"}}}};
    for (const auto& [campaign, revenue] : expected) {
        perf.set_campaign_id(campaign);
        REQUIRE(Eventually([&] {
            auto p = api.GetCampaignPerformance(perf);
            return p.ok() && Revenue(p.response) == revenue;
        }));
    }
    perf.set_campaign_id(a.id());
    const auto pa = api.GetCampaignPerformance(perf).response;
    CHECK(pa.email_clicks() == 1);
    CHECK(pa.sent() == 2);     // Ann's and Uma's whitepaper emails: Ula and Bob got nothing, Erin was erased first
    CHECK(pa.bounced() == 1);  // Bob's

    // Nothing from the sequences for the unsubscribed, the erased and the hard-bounced; Ann and Uma one message each.
    CHECK(mailpit.To(ula_email).size() == 1);  // the newsletter she unsubscribed from
    CHECK(mailpit.To(uma_email).size() == 1);
    CHECK(mailpit.To(bob_email).empty());
    CHECK(mailpit.To(erin_email).empty());
    CHECK(mailpit.To(ann_email).size() == 1);
    // The one-click unsubscribe of Ann's sequence email works too.
    REQUIRE(Http("POST", UnsubscribePath(mailpit, ann_mail[0])).status == 200);
    CHECK(QueryScalar("marketing", "SELECT reason FROM suppressions WHERE tenant_id = '" + tenant + "' AND email = '" +
                                       ann_email + "'") == "unsubscribed");
}
