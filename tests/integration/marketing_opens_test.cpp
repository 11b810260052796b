// Open tracking and the leads side of email engagement, through the gateway: the HTML part of a message carries a
// pixel whose public route (GET /o/{token}) answers a 1x1 GIF and records the first open of the message (one per send
// and person) as a touch with EmailOpened; marketing's EmailClicked and EmailOpened reach leads as engagements of the
// recipient lead, so an open and a click move its score by the tenant's rules, once per event.
#include <crm/marketing/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "../support/events.hpp"
#include "../support/http_client.hpp"
#include "../support/leads_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/marketing_client.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/public_token.hpp"
#include "crm/common/sealed_columns.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

std::string Between(const std::string& text, const std::string& start, char end) {
    const std::size_t at = text.find(start);
    if (at == std::string::npos) return "";
    const std::size_t from = at + start.size();
    return text.substr(from, text.find(end, from) - from);
}

HttpReply Http(const std::string& method, const std::string& target) {
    HttpClient client(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    return client.Send(method, target, {}, {});
}

lv1::ScoringRule EngagementRule(const std::string& name, const std::string& type, int weight) {
    lv1::ScoringRule r;
    r.set_name(name);
    r.mutable_engagement()->set_type(type);
    r.set_weight(weight);
    return r;
}

lv1::Lead GetLead(LeadsClient& leads, const std::string& id) {
    lv1::GetLeadRequest get;
    get.set_id(id);
    auto r = leads.GetLead(get);
    REQUIRE(r.ok());
    return r.response.lead();
}

bool Names(const grpc::Status& status, const std::string& field) {
    for (const auto& v : FieldViolations(status)) {
        if (v.field == field) return true;
    }
    return false;
}

const std::string kGif(
    "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01"
    "\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
    43);

}  // namespace

TEST_CASE(
    "marketing opens: the pixel answers a GIF and records one open per message - leads scores the open and the click "
    "of its lead once each",
    "[integration][marketing][email][opens]") {
    const std::string tenant = UniqueTenant("mo");
    const std::string token = TokenFor(tenant, {"admin"});
    LeadsClient leads(token);
    MarketingClient api(token);

    // Leads scores email engagement: an open 5 points, a click 25 (half-life long enough not to decay the points).
    lv1::UpdateScoringRulesRequest rules;
    rules.mutable_scoring_rules()->set_engagement_half_life_days(3650);
    *rules.mutable_scoring_rules()->add_rules() = EngagementRule("opened an email", "email_opened", 5);
    *rules.mutable_scoring_rules()->add_rules() = EngagementRule("clicked an email", "email_clicked", 25);
    REQUIRE(leads.UpdateScoringRules(rules).ok());

    // A lead who consented to email, in marketing's audience.
    const std::string email = "lin." + crm::common::NewUuid().substr(0, 8) + "@example.com";
    lv1::CreateLeadRequest create;
    create.mutable_lead()->set_given_name("Lin");
    create.mutable_lead()->set_family_name("Tester");
    create.mutable_lead()->set_email(email);
    create.mutable_lead()->mutable_consent()->set_granted(true);
    create.mutable_lead()->mutable_consent()->set_text("Send me news");
    auto created = leads.CreateLead(create);
    INFO(created.status.error_message());
    REQUIRE(created.ok());
    const lv1::Lead lin = created.response.lead();
    CHECK(lin.score() == 0);
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(lin.id());
        auto r = api.GetAudienceMember(get);
        return r.ok() && r.response.member().consent() == "opted_in";
    }));

    const mv1::Campaign campaign = api.MustCreateCampaign("Opens");
    const std::string send_id = api.MustSendTo(
        campaign.id(), lin.id(), "With a pixel", "Hello {{contact.given_name}}",
        "<html><body><p>Hi {{contact.given_name}}</p><p><a href=\"https://example.com/guide\">Guide</a></p>"
        "</body></html>",
        "Hi {{contact.given_name}}");

    Mailpit mailpit;
    const auto got = mailpit.WaitFor(email, 1, 30s);
    REQUIRE(got.size() == 1);
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id));
    const std::string html = message["HTML"].get<std::string>();
    // The pixel is the last thing in the body.
    const std::string pixel_path = "/o/" + Between(html, "/o/", '"');
    REQUIRE(pixel_path.size() > 10);
    CHECK(html.find("width=\"1\" height=\"1\"") != std::string::npos);
    CHECK(html.find("</body>") > html.find(pixel_path));
    const std::string click_path = "/r/" + Between(html, "/r/", '"');
    REQUIRE(click_path.size() > 10);

    // Loaded twice (a second look at the message, or a mail client's prefetch): a GIF each time, one open.
    EventTap tap("crm.marketing.v1");
    tap.Keep([](const crm::common::v1::EventEnvelope& e) {
        return e.event_type() == "crm.marketing.events.v1.EmailOpened" ||
               e.event_type() == "crm.marketing.events.v1.TouchRecorded";
    });
    for (int i = 0; i < 2; ++i) {
        const HttpReply pixel = Http("GET", pixel_path);
        INFO(pixel.body);
        REQUIRE(pixel.status == 200);
        CHECK(pixel.Header("content-type") == "image/gif");
        CHECK(pixel.Header("cache-control") == "no-store");
        CHECK(pixel.body == kGif);
    }
    const auto opened = tap.WaitFor(tenant, 2, 20s, 3s);
    REQUIRE(opened.size() == 2);  // one EmailOpened and one TouchRecorded, nothing for the second load
    std::set<std::string> types;
    for (const auto& e : opened) types.insert(e.envelope.event_type());
    CHECK(types ==
          std::set<std::string>{"crm.marketing.events.v1.EmailOpened", "crm.marketing.events.v1.TouchRecorded"});
    for (const auto& e : opened) {
        if (e.envelope.event_type() != "crm.marketing.events.v1.EmailOpened") continue;
        crm::marketing::events::v1::EmailOpened payload;
        REQUIRE(e.envelope.payload().UnpackTo(&payload));
        CHECK(payload.send_id() == send_id);
        CHECK(payload.person_id() == lin.id());
        CHECK(payload.campaign_id() == campaign.id());
        CHECK(e.envelope.aggregate_id() == send_id);
    }
    const std::string touches = "SELECT count(*) FROM engagements WHERE tenant_id = '" + tenant +
                                "' AND person_id = '" + lin.id() + "' AND type = ";
    CHECK(QueryScalar("marketing", touches + "'email_opened'") == "1");
    CHECK(QueryScalar("marketing", "SELECT count(*) FROM email_recipients WHERE tenant_id = '" + tenant +
                                       "' AND open_time IS NOT NULL") == "1");

    // Leads takes the open as an engagement of Lin: 5 points.
    REQUIRE(Eventually([&] { return GetLead(leads, lin.id()).score() == 5; }));

    // The click (tracked link) moves the score by its rule: 25 more.
    EventTap click_tap("crm.marketing.v1");
    click_tap.Keep([](const crm::common::v1::EventEnvelope& e) {
        return e.event_type() == "crm.marketing.events.v1.EmailClicked";
    });
    REQUIRE(Http("GET", click_path).status == 302);
    const auto clicked = click_tap.WaitFor(tenant, 1, 20s);
    REQUIRE(clicked.size() == 1);
    REQUIRE(Eventually([&] { return GetLead(leads, lin.id()).score() == 30; }));
    const lv1::Lead scored = GetLead(leads, lin.id());
    std::set<std::string> reasons;
    for (const auto& r : scored.score_reasons()) reasons.insert(r.rule());
    CHECK(reasons == std::set<std::string>{"opened an email", "clicked an email"});
    // One engagement per event in leads, marked as marketing's; marketing keeps its own touches only (the echo of
    // LeadEngagementRecorded adds nothing), once the audience has seen the new score.
    const std::string lead_engagements =
        "SELECT count(*) FROM lead_engagements WHERE tenant_id = '" + tenant + "' AND lead_id = '" + lin.id() + "'";
    CHECK(QueryScalar("leads", lead_engagements) == "2");
    {
        // The click's detail names the send and campaign; leads stores it sealed under the lead's data key (migration
        // 0008), so it is read with that key, as leads reads it.
        pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
        pqxx::nontransaction tx(conn);
        const pqxx::result rows = tx.exec(
            "SELECT e.detail, " CRM_SUBJECT_KEY_COLUMN("e.tenant_id", "e.lead_id::text") " FROM lead_engagements e "
            "WHERE e.tenant_id = " + tx.quote(tenant) + " AND e.lead_id = " + tx.quote(lin.id()) +
            "::uuid AND e.type = 'email_clicked'");
        REQUIRE(rows.size() == 1);
        CHECK(std::string(rows[0][0].c_str()).rfind("pv1.", 0) == 0);
        CHECK(
            crm::common::ColumnKey(tenant, lin.id(), rows[0][1]).Open("lead_engagements.detail", rows[0][0].c_str()) ==
            "marketing send " + send_id + " campaign " + campaign.id());
    }
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(lin.id());
        auto r = api.GetAudienceMember(get);
        return r.ok() && r.response.member().lead_score() == 30;
    }));
    CHECK(QueryScalar("marketing", touches + "'email_opened'") == "1");
    CHECK(QueryScalar("marketing", touches + "'email_clicked'") == "1");

    // The click delivered again (same event id) changes nothing; a new click event (another id) counts: the score
    // moves once more, by 25, and leads holds three engagements, not four.
    const ReceivedEvent& click = clicked[0];
    crm::common::v1::EventEnvelope again = click.envelope;
    crm::common::v1::EventEnvelope fresh = click.envelope;
    fresh.set_event_id(crm::common::NewUuid());
    ProduceEvents({{"crm.marketing.v1", click.key, again.SerializeAsString(), again.event_id(), tenant},
                   {"crm.marketing.v1", click.key, fresh.SerializeAsString(), fresh.event_id(), tenant}});
    // Both have the click's key, so one partition, in this order: once the fresh one is applied the duplicate was seen.
    REQUIRE(Eventually([&] { return GetLead(leads, lin.id()).score() == 55; }));
    CHECK(QueryScalar("leads", lead_engagements) == "3");

    // The campaign's performance counts the open.
    mv1::GetCampaignPerformanceRequest perf;
    perf.set_campaign_id(campaign.id());
    auto performance = api.GetCampaignPerformance(perf);
    REQUIRE(performance.ok());
    CHECK(performance.response.sent() == 1);
    CHECK(performance.response.opened() == 1);
    CHECK(performance.response.email_clicks() == 1);

    // Tampered tokens, tokens of another purpose and of another tenant open nothing.
    std::string tampered = pixel_path;
    tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
    CHECK(Http("GET", tampered).status == 401);
    CHECK(Http("GET", "/o/" + click_path.substr(3)).status == 401);  // a tracked-link token is no pixel token
    const auto verified = crm::common::VerifyPublicToken("email-open", pixel_path.substr(3), 2,
                                                         RequireEnv("CRM_INTERNAL_KEY"), std::time(nullptr));
    REQUIRE(verified);
    CHECK(verified->fields == std::vector<std::string>{send_id, lin.id()});
    crm::common::PublicToken foreign = *verified;
    foreign.tenant = UniqueTenant("other");
    const HttpReply other =
        Http("GET", "/o/" + crm::common::SignPublicToken("email-open", foreign, RequireEnv("CRM_INTERNAL_KEY")));
    CHECK(other.status == 404);
    crm::common::PublicToken stranger = *verified;
    stranger.fields[1] = crm::common::NewUuid();  // a person the send never wrote to
    CHECK(Http("GET", "/o/" + crm::common::SignPublicToken("email-open", stranger, RequireEnv("CRM_INTERNAL_KEY")))
              .status == 404);
    CHECK(QueryScalar("marketing", "SELECT count(*) FROM engagements WHERE tenant_id = '" + tenant +
                                       "' AND type = 'email_opened'") == "1");
}

TEST_CASE("marketing opens: the pixel method takes no staff call and checks its token field",
          "[integration][marketing][email][opens]") {
    const std::string tenant = UniqueTenant("mo");
    MarketingClient api(TokenFor(tenant, {"admin"}));
    mv1::OpenEmailPixelRequest empty;
    auto r = api.OpenEmailPixel(empty);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(Names(r.status, "token"));
    mv1::OpenEmailPixelRequest bad;
    bad.set_token(std::string("abc\0def", 7));
    r = api.OpenEmailPixel(bad);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(Names(r.status, "token"));
    mv1::OpenEmailPixelRequest oversized;
    oversized.set_token(std::string(1001, 'a'));
    r = api.OpenEmailPixel(oversized);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(Names(r.status, "token"));
    // Invalid UTF-8 in a proto3 string never reaches the handler over gRPC; over HTTP the gateway refuses the path.
    CHECK(Http("GET", "/o/%C3%28").status / 100 == 4);
    // A well-formed token the service did not sign for this tenant: NOT_FOUND (nothing tells which part was wrong).
    mv1::OpenEmailPixelRequest unsigned_token;
    unsigned_token.set_token("not-a-token");
    CHECK(api.OpenEmailPixel(unsigned_token).status.error_code() == grpc::StatusCode::NOT_FOUND);
}
