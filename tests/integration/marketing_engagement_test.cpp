// ListPersonEngagement through the gateway: a contact who received a campaign e-mail (sent to the local Mailpit),
// opened it and clicked its link has, newest first, the click, the open and the send, each with the campaign's name;
// pages of one walk them without gaps or repeats. Bad input names its fields, another tenant's person and an unknown
// id are NOT_FOUND, roles outside marketing, analysis and support are refused. The page statement is index-backed at
// 100,000 engagements and 100,000 e-mail outcomes as the app role.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "../support/contacts_client.hpp"
#include "../support/explain.hpp"
#include "../support/http_client.hpp"
#include "../support/mailpit.hpp"
#include "../support/marketing_client.hpp"
#include "../support/wait.hpp"
#include "engagement/sql.hpp"

using namespace crm::test;
using namespace std::chrono_literals;

namespace {

std::string Between(const std::string& text, const std::string& start, char end) {
    const std::size_t at = text.find(start);
    if (at == std::string::npos) return "";
    const std::size_t from = at + start.size();
    return text.substr(from, text.find(end, from) - from);
}

mv1::ListPersonEngagementResponse History(MarketingClient& api, const std::string& person, int page_size = 0,
                                          const std::string& token = "") {
    mv1::ListPersonEngagementRequest req;
    req.set_person_id(person);
    req.set_page_size(page_size);
    req.set_page_token(token);
    auto r = api.ListPersonEngagement(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response;
}

}  // namespace

TEST_CASE("marketing engagement: a person's sends, opens and clicks newest first with campaign names, paged",
          "[integration][marketing][engagement]") {
    const std::string tenant = UniqueTenant("me");
    const std::string token = TokenFor(tenant, {"admin"});
    ContactsClient contacts(token);
    MarketingClient api(token);

    const std::string email = "eve." + crm::common::NewUuid().substr(0, 8) + "@example.com";
    const cv1::Contact eve = contacts.MustCreate("Eve", "Tester", email);
    cv1::UpdateContactConsentRequest consent;
    consent.set_id(eve.id());
    consent.set_status(cv1::CONSENT_STATUS_OPTED_IN);
    consent.set_source("web_form");
    REQUIRE(contacts.UpdateContactConsent(consent).ok());
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(eve.id());
        auto r = api.GetAudienceMember(get);
        return r.ok() && r.response.member().consent() == "opted_in";
    }));
    // In the audience, nothing happened yet.
    CHECK(History(api, eve.id()).engagements_size() == 0);

    const mv1::Campaign campaign = api.MustCreateCampaign("Autumn offers");
    const std::string send_id = api.MustSendTo(
        campaign.id(), eve.id(), "Offer", "Hello {{contact.given_name}}",
        "<html><body><p>Hi</p><p><a href=\"https://example.com/offer\">Offer</a></p></body></html>", "Hi");

    Mailpit mailpit;
    const auto got = mailpit.WaitFor(email, 1, 30s);
    REQUIRE(got.size() == 1);
    const auto message = nlohmann::json::parse(mailpit.Get("/api/v1/message/" + got[0].id));
    const std::string html = message["HTML"].get<std::string>();
    const std::string pixel_path = "/o/" + Between(html, "/o/", '"');
    const std::string click_path = "/r/" + Between(html, "/r/", '"');
    REQUIRE(pixel_path.size() > 10);
    REQUIRE(click_path.size() > 10);
    // The sender records the relay's answer right after it: the send shows first.
    REQUIRE(Eventually([&] { return History(api, eve.id()).engagements_size() == 1; }, 30s));
    HttpClient http(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    REQUIRE(http.Send("GET", pixel_path, {}, {}).status == 200);
    REQUIRE(Eventually([&] { return History(api, eve.id()).engagements_size() == 2; }, 30s));
    REQUIRE(http.Send("GET", click_path, {}, {}).status == 302);
    REQUIRE(Eventually([&] { return History(api, eve.id()).engagements_size() == 3; }, 30s));

    const auto all = History(api, eve.id());
    INFO(all.DebugString());
    REQUIRE(all.engagements_size() == 3);
    CHECK(all.next_page_token().empty());
    const std::vector<std::string> types = {all.engagements(0).type(), all.engagements(1).type(),
                                            all.engagements(2).type()};
    CHECK(types == std::vector<std::string>{"email_clicked", "email_opened", "email_sent"});
    for (const auto& e : all.engagements()) {
        CHECK(e.campaign_id() == campaign.id());
        CHECK(e.campaign_name() == "Autumn offers");
        CHECK(e.channel() == "email");
        CHECK(e.occur_time().seconds() > 0);
    }
    CHECK(all.engagements(2).send_id() == send_id);
    CHECK(all.engagements(2).id() == send_id);
    CHECK(all.engagements(0).send_id().empty());
    CHECK(all.engagements(0).occur_time().seconds() >= all.engagements(1).occur_time().seconds());
    CHECK(all.engagements(1).occur_time().seconds() >= all.engagements(2).occur_time().seconds());

    // Pages of one: the same three, in the same order, no gaps or repeats.
    std::vector<std::string> paged;
    std::string next;
    for (int i = 0; i < 5; ++i) {
        const auto page = History(api, eve.id(), 1, next);
        for (const auto& e : page.engagements()) paged.push_back(e.id());
        next = page.next_page_token();
        if (next.empty()) break;
    }
    CHECK(paged == std::vector<std::string>{all.engagements(0).id(), all.engagements(1).id(), all.engagements(2).id()});

    // Over HTTP/JSON too.
    const auto reply = http.Send("GET", "/v1/audience/" + eve.id() + "/engagement?pageSize=2",
                                 {{"authorization", "Bearer " + token}}, {});
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    const auto j = nlohmann::json::parse(reply.body);
    REQUIRE(j["engagements"].size() == 2);
    CHECK(j["engagements"][0]["type"] == "email_clicked");
    CHECK(j["engagements"][0]["campaignName"] == "Autumn offers");
    CHECK_FALSE(j["nextPageToken"].get<std::string>().empty());

    // Support's roles read it (the 360° view); a sales rep does not.
    MarketingClient agent(TokenFor(tenant, {"support_agent"}));
    mv1::ListPersonEngagementRequest req;
    req.set_person_id(eve.id());
    CHECK(agent.ListPersonEngagement(req).ok());
    MarketingClient rep(TokenFor(tenant, {"sales_rep"}));
    CHECK(rep.ListPersonEngagement(req).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // Another tenant's person and an unknown id: NOT_FOUND, nothing leaks.
    MarketingClient stranger(TokenFor(UniqueTenant("mex"), {"admin"}));
    auto foreign = stranger.ListPersonEngagement(req);
    CHECK(foreign.status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(foreign.response.engagements_size() == 0);
    req.set_person_id(crm::common::NewUuid());
    CHECK(api.ListPersonEngagement(req).status.error_code() == grpc::StatusCode::NOT_FOUND);

    // A page token of another person is refused.
    const auto first = History(api, eve.id(), 1);
    REQUIRE_FALSE(first.next_page_token().empty());
    const cv1::Contact other =
        contacts.MustCreate("Oli", "Tester", "oli." + crm::common::NewUuid().substr(0, 8) + "@example.com");
    REQUIRE(Eventually([&] {
        mv1::GetAudienceMemberRequest get;
        get.set_id(other.id());
        return api.GetAudienceMember(get).ok();
    }));
    mv1::ListPersonEngagementRequest crossed;
    crossed.set_person_id(other.id());
    crossed.set_page_token(first.next_page_token());
    auto refused = api.ListPersonEngagement(crossed);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(refused.status, "page_token"));
}

TEST_CASE("marketing engagement: bad input names every field", "[integration][marketing][engagement]") {
    MarketingClient api(TokenFor(UniqueTenant("meb"), {"admin"}));
    mv1::ListPersonEngagementRequest req;
    req.set_person_id("not-a-uuid");
    req.set_page_size(-1);
    req.set_page_token(std::string("a\0b", 3));
    auto r = api.ListPersonEngagement(req);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(r.status, "person_id"));
    CHECK(HasViolation(r.status, "page_size"));
    CHECK(HasViolation(r.status, "page_token"));
    mv1::ListPersonEngagementRequest empty;
    auto missing = api.ListPersonEngagement(empty);
    CHECK(missing.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(missing.status, "person_id"));
}

TEST_CASE("marketing engagement: a person's history is index-backed at 100k rows (EXPLAIN as the app role)",
          "[integration][marketing][engagement][explain]") {
    const std::string tenant = UniqueTenant("mex");
    const std::string person = crm::common::NewUuid();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        tx.exec("INSERT INTO campaigns (tenant_id, id, name, type, utm_campaign) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000000c', 'Seeded', 'EMAIL', 'seeded')");
        tx.exec("INSERT INTO email_templates (tenant_id, id, name, subject, text_body) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000000e', 'T', 'S', 'B')");
        tx.exec("INSERT INTO segments (tenant_id, id, name, type) VALUES (" + t +
                ", '00000000-0000-0000-0000-00000000005e', 'L', 'STATIC')");
        // 1,000 sends to 100 people (the person among them: 1,000 outcomes), 100,000 engagements over 1,000 people
        // (the person: 100).
        tx.exec(
            "INSERT INTO email_sends (tenant_id, id, campaign_id, template_id, segment_id, status, schedule_time) "
            "SELECT " +
            t +
            ", gen_random_uuid(), '00000000-0000-0000-0000-00000000000c', "
            "'00000000-0000-0000-0000-00000000000e', '00000000-0000-0000-0000-00000000005e', 'COMPLETED', now() "
            "FROM generate_series(1, 1000)");
        tx.exec(
            "INSERT INTO email_recipients (tenant_id, send_id, person_id, email, email_index, status, claim_time, "
            "sent_time) "
            "SELECT s.tenant_id, s.id, CASE WHEN p = 1 THEN " +
            tx.quote(person) +
            "::uuid ELSE gen_random_uuid() END, 'pv1.x', md5('x') || md5('y'), "
            "(ARRAY['sent','sent','sent','bounced','pending'])[1 + (p % 5)], now() - p * interval '1 minute', "
            "CASE WHEN p % 5 < 3 THEN now() - p * interval '1 minute' END "
            "FROM email_sends s, generate_series(1, 100) AS p WHERE s.tenant_id = " +
            t);
        tx.exec(
            "INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, channel, occur_time) "
            "SELECT " +
            t + ", gen_random_uuid(), CASE WHEN g % 1000 = 0 THEN " + tx.quote(person) +
            "::uuid ELSE gen_random_uuid() END, 'email_opened', '00000000-0000-0000-0000-00000000000c', 'email', "
            "now() - g * interval '1 second' FROM generate_series(1, 100000) AS g");
        tx.exec("ANALYZE engagements");
        tx.exec("ANALYZE email_recipients");
        tx.exec("ANALYZE email_sends");
        tx.commit();
    }
    const std::string start = "253402300799000000, 'ffffffff-ffff-ffff-ffff-ffffffffffff', 21";
    const std::string args = "'" + tenant + "', '" + person + "', " + start;
    const QueryPlan plan =
        ExplainAs(conn, "marketing_app", tenant, crm::marketing::engagement::sql::kListPage.text, args);
    INFO(plan.text);
    CHECK(plan.Uses("engagements_person_time"));
    CHECK(plan.Uses("email_recipients_person_outcome"));
    CHECK_FALSE(plan.Has("Seq Scan engagements"));
    CHECK_FALSE(plan.Has("Seq Scan email_recipients"));
    CHECK_FALSE(plan.Has("Seq Scan email_sends"));
    CHECK_FALSE(plan.Has("Seq Scan campaigns"));
    CHECK_FALSE(plan.Has("Bitmap Heap Scan engagements"));
    const QueryPlan exists =
        ExplainAs(conn, "marketing_app", tenant, crm::marketing::engagement::sql::kPersonExists.text,
                  "'" + tenant + "', '" + person + "'");
    INFO(exists.text);
    CHECK_FALSE(exists.Has("Seq Scan audience"));
}
