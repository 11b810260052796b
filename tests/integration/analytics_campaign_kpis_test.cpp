// Campaign KPIs in analytics (GetCampaignKpis) from marketing's events (topic crm.marketing.v1), through the gateway:
// - driven through the real services: two campaigns with cost lines (one incurred outside the period), web-form
//   submissions of each campaign's form (leads' API: LeadCreated -> marketing's form_submitted touch ->
//   TouchRecorded), an anonymous tracked-link visit (GET /r/{token}: a touch, no lead), two converted leads whose
//   deals are won in EUR and USD (sales' API -> marketing's AttributionComputed); the KPIs equal figures computed by
//   hand;
// - a scripted history of AttributionComputed in marketing's format (a win, a duplicate, a retraction, a win again
//   with another close time, events out of order): only the split in force counts;
// - bad input, roles, tenant isolation and the EXPLAIN of the period reads as the application role.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "../support/analytics_client.hpp"
#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/http_client.hpp"
#include "../support/leads_client.hpp"
#include "../support/marketing_client.hpp"
#include "../support/sales_client.hpp"
#include "../support/wait.hpp"
#include "campaign_kpis/sql.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace av1 = crm::analytics::v1;
namespace mev = crm::marketing::events::v1;

namespace {

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;

std::int64_t NowMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

google::protobuf::Timestamp Ts(std::int64_t micros) {
    google::protobuf::Timestamp t;
    t.set_seconds(micros / kSecond);
    t.set_nanos(static_cast<int>(micros % kSecond) * 1000);
    return t;
}

std::string UniqueEmail(const std::string& who) {
    return who + "." + crm::common::NewUuid().substr(0, 8) + "@example.com";
}

std::string IsoDate(std::int64_t micros) {
    const std::time_t s = static_cast<std::time_t>(micros / kSecond);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

av1::GetCampaignKpisRequest Period(std::int64_t start, std::int64_t end, const std::string& campaign = "") {
    av1::GetCampaignKpisRequest r;
    *r.mutable_start_time() = Ts(start);
    *r.mutable_end_time() = Ts(end);
    r.set_campaign_id(campaign);
    return r;
}

// A campaign's KPIs as one line, e.g. "leads 2; EUR cost 30000 cpl 15000 first_touch 100000/70000 ...; USD ...".
std::string Line(const av1::CampaignKpis& k) {
    std::string out = "leads " + std::to_string(k.leads());
    for (const auto& c : k.currencies()) {
        out += "; " + c.currency_code() + " cost " + std::to_string(c.cost_minor()) + " cpl " +
               std::to_string(c.cost_per_lead_minor());
        for (const auto& m : c.models()) {
            out += " " + m.model() + " " + std::to_string(m.revenue_minor()) + "/" + std::to_string(m.net_minor());
            if (m.roi_defined()) {
                char roi[32];
                std::snprintf(roi, sizeof roi, "%.4f", m.roi());
                out += "@" + std::string(roi);
            }
        }
    }
    return out;
}

std::map<std::string, std::string> Lines(const av1::GetCampaignKpisResponse& r) {
    std::map<std::string, std::string> out;
    for (const auto& k : r.campaigns()) out[k.campaign_id()] = Line(k);
    return out;
}

// The same revenue under every model: "first_touch r/n last_touch r/n linear ... time_decay ... u_shaped ...".
std::string EveryModel(std::int64_t revenue, std::int64_t cost) {
    std::string out;
    for (const char* m : {"first_touch", "last_touch", "linear", "time_decay", "u_shaped"}) {
        out += std::string(" ") + m + " " + std::to_string(revenue) + "/" + std::to_string(revenue - cost);
        if (cost > 0) {
            char roi[32];
            std::snprintf(roi, sizeof roi, "%.4f", static_cast<double>(revenue - cost) / static_cast<double>(cost));
            out += "@" + std::string(roi);
        }
    }
    return out;
}

void DefineForm(LeadsClient& admin, const std::string& id, const std::string& campaign_id) {
    lv1::UpsertWebFormRequest req;
    auto* f = req.mutable_web_form();
    f->set_id(id);
    f->set_name("Campaign form " + id);
    (*f->mutable_field_mapping())["first"] = "given_name";
    (*f->mutable_field_mapping())["last"] = "family_name";
    (*f->mutable_field_mapping())["mail"] = "email";
    f->set_default_source("website");
    f->set_default_campaign_id(campaign_id);
    f->set_consent_text("Send me news");
    f->set_consent_version("1");
    f->set_min_fill_seconds(1);
    auto r = admin.UpsertWebForm(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
}

OutgoingEvent MarketingEvent(const std::string& tenant, const std::string& aggregate_type, const std::string& id,
                             std::int64_t version, std::int64_t at, const google::protobuf::Message& payload) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(crm::common::NewUuid());
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("marketing");
    env.set_tenant_id(tenant);
    env.set_aggregate_type(aggregate_type);
    env.set_aggregate_id(id);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = Ts(at);
    env.mutable_payload()->PackFrom(payload);
    return {"crm.marketing.v1", id, env.SerializeAsString(), env.event_id(), tenant};
}

mev::AttributionComputed Won(const std::string& deal, const std::string& currency, std::int64_t amount,
                             std::int64_t close,
                             const std::vector<std::tuple<std::string, std::string, std::int64_t>>& shares) {
    mev::AttributionComputed e;
    e.set_opportunity_id(deal);
    e.mutable_amount()->set_currency_code(currency);
    e.mutable_amount()->set_amount_minor(amount);
    *e.mutable_close_time() = Ts(close);
    for (const auto& [model, campaign, minor] : shares) {
        auto* s = e.add_shares();
        s->set_model(model);
        s->set_campaign_id(campaign);
        s->set_amount_minor(minor);
    }
    return e;
}

}  // namespace

TEST_CASE("analytics campaign KPIs: costs, web-form leads and won deals through the real services, by hand",
          "[integration][analytics][campaign_kpis]") {
    const std::string tenant = UniqueTenant("ack");
    const std::string token = TokenFor(tenant, {"admin"});
    MarketingClient api(token);
    LeadsClient leads(token);
    LeadsClient form(SignedIdentity(tenant, {"web_form"}), DirectChannel("CRM_TEST_LEADS"));
    SalesClient sales(token);
    AnalyticsClient analytics(token);

    const std::int64_t now = NowMicros();
    const std::string today = IsoDate(now);
    const mv1::Campaign a = api.MustCreateCampaign("Spring webinar (A)");
    const mv1::Campaign b = api.MustCreateCampaign("Trade show (B)");
    auto cost = [&](const mv1::Campaign& c, std::int64_t minor, const std::string& date) {
        mv1::AddCampaignCostRequest req;
        req.set_campaign_id(c.id());
        req.mutable_cost()->set_description("line");
        req.mutable_cost()->mutable_amount()->set_amount_minor(minor);
        req.mutable_cost()->mutable_amount()->set_currency_code("EUR");
        req.mutable_cost()->set_incur_date(date);
        auto r = api.AddCampaignCost(req);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
    };
    cost(a, 20000, today);
    cost(a, 10000, today);
    cost(a, 7000, "2020-01-15");  // long before the period
    cost(b, 5000, today);

    // An anonymous visit of A's tracked link: a touch, not a lead.
    mv1::CreateTrackedLinkRequest link;
    link.set_campaign_id(a.id());
    link.mutable_link()->set_destination_url("https://example.com/webinar");
    link.mutable_link()->set_channel("social");
    link.mutable_link()->set_source("linkedin");
    auto made = api.CreateTrackedLink(link);
    REQUIRE(made.ok());
    HttpClient http(RequireEnv("CRM_TEST_GATEWAY_HTTP"));
    REQUIRE(http.Send("GET", "/r/" + made.response.link().token(), {}, {}).status == 302);

    // Three web-form submissions: two on A's form, one on B's.
    DefineForm(leads, "form-a", a.id());
    DefineForm(leads, "form-b", b.id());
    std::vector<std::pair<std::string, std::string>> submissions = {
        {"form-a", "ann"}, {"form-a", "amy"}, {"form-b", "bea"}};
    std::vector<std::string> tokens;
    for (const auto& [form_id, name] : submissions) {
        lv1::IssueWebFormTokenRequest issue;
        issue.set_form_id(form_id);
        auto t = form.IssueWebFormToken(issue);
        INFO(t.status.error_message());
        REQUIRE(t.ok());
        tokens.push_back(t.response.form_token());
    }
    std::this_thread::sleep_for(1100ms);
    std::map<std::string, std::string> lead_of;
    for (size_t i = 0; i < submissions.size(); ++i) {
        lv1::SubmitWebFormRequest submit;
        submit.set_form_id(submissions[i].first);
        submit.set_form_token(tokens[i]);
        (*submit.mutable_fields())["first"] = submissions[i].second;
        (*submit.mutable_fields())["last"] = "Tester";
        (*submit.mutable_fields())["mail"] = UniqueEmail(submissions[i].second);
        submit.set_consent_granted(true);
        submit.set_consent_text("Send me news");
        submit.set_consent_version("1");
        auto r = form.SubmitWebForm(submit);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        REQUIRE(r.response.created());
        lead_of[submissions[i].second] = r.response.lead_id();
    }

    // Ann (A) and Bea (B) convert with deals of EUR 1,000.00 and USD 99.99, both won.
    EventTap tap("crm.marketing.v1");
    tap.Keep([](const crm::common::v1::EventEnvelope& e) {
        return e.event_type() == "crm.marketing.events.v1.AttributionComputed";
    });
    for (const auto& [name, money] : std::vector<std::pair<std::string, std::pair<std::int64_t, std::string>>>{
             {"ann", {100000, "EUR"}}, {"bea", {9999, "USD"}}}) {
        // Marketing must hold the lead's touch before the deal is won.
        REQUIRE(Eventually([&] {
            mv1::GetAudienceMemberRequest get;
            get.set_id(lead_of[name]);
            return api.GetAudienceMember(get).ok();
        }));
        lv1::ChangeLeadStatusRequest qualify;
        qualify.set_id(lead_of[name]);
        qualify.set_status(lv1::LEAD_STATUS_QUALIFIED);
        auto qualified = leads.ChangeLeadStatus(qualify);
        INFO(qualified.status.error_message());
        REQUIRE(qualified.ok());
        lv1::ConvertLeadRequest convert;
        convert.set_id(lead_of[name]);
        convert.set_create_opportunity(true);
        convert.set_skip_company(true);
        convert.mutable_opportunity()->set_name(name + "'s deal");
        convert.mutable_opportunity()->mutable_amount()->set_amount_minor(money.first);
        convert.mutable_opportunity()->mutable_amount()->set_currency_code(money.second);
        auto converted = leads.ConvertLead(convert);
        INFO(converted.status.error_message());
        REQUIRE(converted.ok());
        sv1::WinOpportunityRequest win;
        win.set_id(converted.response.conversion().opportunity_id());
        auto won = sales.WinOpportunity(win);
        INFO(won.status.error_message());
        REQUIRE(won.ok());
    }
    const auto computed = tap.WaitFor(tenant, 2, 60s);
    REQUIRE(computed.size() == 2);

    // By hand, over [now - 2 days, now + 2 days) (the cost lines' date is today, UTC, inside; 2020 is outside):
    //   A: cost EUR 200.00 + 100.00 = 30000; leads Ann and Amy = 2 (the anonymous visit is no lead); cost per lead
    //      15000; Ann's deal has one touch (A's form) so A takes EUR 100000 under every model: net 70000, ROI 2.3333.
    //   B: cost EUR 5000; one lead (Bea), cost per lead 5000; EUR revenue 0 (ROI -1); Bea's USD 9999 under every
    //      model with no USD cost (ROI undefined).
    const std::map<std::string, std::string> expected = {
        {a.id(), "leads 2; EUR cost 30000 cpl 15000" + EveryModel(100000, 30000)},
        {b.id(), "leads 1; EUR cost 5000 cpl 5000" + EveryModel(0, 5000) + "; USD cost 0 cpl 0" + EveryModel(9999, 0)}};
    const auto period = Period(now - kDay - kDay, now + 2 * kDay);
    av1::GetCampaignKpisResponse resp;
    const bool reached = Eventually([&] {
        resp.Clear();
        return analytics.Kpis(period, &resp).ok() && Lines(resp) == expected;
    });
    INFO(resp.DebugString());
    CHECK(reached);
    CHECK(Lines(resp) == expected);

    // One campaign only.
    av1::GetCampaignKpisResponse only;
    REQUIRE(analytics.Kpis(Period(now - 2 * kDay, now + 2 * kDay, a.id()), &only).ok());
    REQUIRE(only.campaigns_size() == 1);
    CHECK(Line(only.campaigns(0)) == expected.at(a.id()));

    // A period that ends before today: no cost, no lead, no revenue.
    av1::GetCampaignKpisResponse before;
    REQUIRE(analytics.Kpis(Period(now - 30 * kDay, now - 3 * kDay), &before).ok());
    CHECK(before.campaigns_size() == 0);

    // The marketer and the analyst read; a sales rep does not.
    for (const char* role : {"marketer", "analyst"}) {
        AnalyticsClient reader(TokenFor(tenant, {role}));
        av1::GetCampaignKpisResponse r;
        CHECK(reader.Kpis(period, &r).ok());
        CHECK(Lines(r) == expected);
    }
    AnalyticsClient rep(TokenFor(tenant, {"sales_rep"}));
    av1::GetCampaignKpisResponse denied;
    CHECK(rep.Kpis(period, &denied).error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // Another tenant sees none of it, also when it names the campaign.
    AnalyticsClient other(TokenFor(UniqueTenant("ack"), {"admin"}));
    av1::GetCampaignKpisResponse foreign;
    REQUIRE(other.Kpis(Period(now - 2 * kDay, now + 2 * kDay, a.id()), &foreign).ok());
    CHECK(foreign.campaigns_size() == 0);
}

TEST_CASE("analytics campaign KPIs: only the split in force counts - duplicates, retractions, re-wins, out of order",
          "[integration][analytics][campaign_kpis]") {
    const std::string tenant = UniqueTenant("acr");
    AnalyticsClient analytics(TokenFor(tenant, {"analyst"}));
    const std::string ca = crm::common::NewUuid(), cb = crm::common::NewUuid();
    const std::string d1 = crm::common::NewUuid(), d2 = crm::common::NewUuid(), d3 = crm::common::NewUuid();
    const std::int64_t t0 = 1767225600LL * kSecond;  // 2026-01-01 00:00 UTC
    const std::int64_t in_jan = t0 + 10 * kDay, in_feb = t0 + 40 * kDay;

    auto split = [&](const std::string& deal, std::int64_t close, std::int64_t amount) {
        // first touch all to A, last touch all to B, linear: A 1/3 rounded down, B the rest.
        return Won(deal, "EUR", amount, close,
                   {{"first_touch", ca, amount},
                    {"last_touch", cb, amount},
                    {"linear", ca, amount / 3},
                    {"linear", cb, amount - amount / 3}});
    };
    mev::AttributionComputed retract;
    retract.set_opportunity_id(d2);
    retract.set_retracted(true);
    mev::TouchRecorded touch;
    touch.set_touch_id(crm::common::NewUuid());
    touch.set_campaign_id(ca);
    touch.set_person_id(crm::common::NewUuid());
    touch.set_type("email_clicked");
    touch.set_channel("email");
    *touch.mutable_touch_time() = Ts(in_jan);
    mev::TouchRecorded open = touch;  // an open is no lead
    open.set_touch_id(crm::common::NewUuid());
    open.set_person_id(crm::common::NewUuid());
    open.set_type("email_opened");
    mev::CampaignCostAdded cost;
    cost.set_campaign_id(ca);
    cost.mutable_cost()->set_id(crm::common::NewUuid());
    cost.mutable_cost()->mutable_amount()->set_amount_minor(1000);
    cost.mutable_cost()->mutable_amount()->set_currency_code("EUR");
    cost.mutable_cost()->set_incur_date("2026-01-05");

    // d1: won in January (delivered twice). d2: won in January, then lost (retraction, version 6) - delivered
    // before its win (version 5). d3: won in January (version 3), reopened and won again in February (version 5).
    const OutgoingEvent d1_won = MarketingEvent(tenant, "attribution", d1, 4, in_jan, split(d1, in_jan, 3000));
    ProduceEvents({d1_won, d1_won, MarketingEvent(tenant, "attribution", d2, 6, in_jan + kDay, retract),
                   MarketingEvent(tenant, "attribution", d2, 5, in_jan, split(d2, in_jan, 50000)),
                   MarketingEvent(tenant, "attribution", d3, 3, in_jan, split(d3, in_jan, 700)),
                   MarketingEvent(tenant, "attribution", d3, 5, in_feb, split(d3, in_feb, 800)),
                   MarketingEvent(tenant, "touch", touch.touch_id(), 1, in_jan, touch),
                   MarketingEvent(tenant, "touch", open.touch_id(), 1, in_jan, open),
                   MarketingEvent(tenant, "campaign_cost", cost.cost().id(), 1, in_jan, cost)});

    // January: d1 only (EUR 3000: A first 3000, linear 1000; B last 3000, linear 2000); A's cost 1000, one lead.
    // February: d3's second win only (EUR 800: A first 800, linear 266; B last 800, linear 534).
    const std::string jan_a =
        "leads 1; EUR cost 1000 cpl 1000 first_touch 3000/2000@2.0000 last_touch 0/-1000@-1.0000 "
        "linear 1000/0@0.0000 time_decay 0/-1000@-1.0000 u_shaped 0/-1000@-1.0000";
    const std::string jan_b =
        "leads 0; EUR cost 0 cpl 0 first_touch 0/0 last_touch 3000/3000 linear 2000/2000 "
        "time_decay 0/0 u_shaped 0/0";
    av1::GetCampaignKpisResponse jan;
    const bool reached = Eventually([&] {
        jan.Clear();
        return analytics.Kpis(Period(t0, t0 + 31 * kDay), &jan).ok() &&
               Lines(jan) == std::map<std::string, std::string>{{ca, jan_a}, {cb, jan_b}};
    });
    INFO(jan.DebugString());
    CHECK(reached);
    av1::GetCampaignKpisResponse feb;
    REQUIRE(analytics.Kpis(Period(t0 + 31 * kDay, t0 + 59 * kDay), &feb).ok());
    CHECK(Lines(feb) == std::map<std::string, std::string>{
                            {ca,
                             "leads 0; EUR cost 0 cpl 0 first_touch 800/800 last_touch 0/0 linear 266/266 "
                             "time_decay 0/0 u_shaped 0/0"},
                            {cb,
                             "leads 0; EUR cost 0 cpl 0 first_touch 0/0 last_touch 800/800 linear 534/534 "
                             "time_decay 0/0 u_shaped 0/0"}});
    // Each event applied once: the duplicate left one row.
    CHECK(QueryScalar("analytics", "SELECT count(*) FROM analytics_campaign_attributions WHERE tenant_id = '" + tenant +
                                       "' AND opportunity_id = '" + d1 + "'") == "1");
}

TEST_CASE("analytics campaign KPIs: bad input names every field", "[integration][analytics][campaign_kpis]") {
    AnalyticsClient analytics(TokenFor(UniqueTenant("acb"), {"analyst"}));
    av1::GetCampaignKpisResponse resp;
    av1::GetCampaignKpisRequest none;
    none.set_campaign_id("not-a-uuid");
    const grpc::Status s = analytics.Kpis(none, &resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(s, "start_time"));
    CHECK(HasViolation(s, "end_time"));
    CHECK(HasViolation(s, "campaign_id"));
    const std::int64_t now = NowMicros();
    CHECK(HasViolation(analytics.Kpis(Period(now, now - kDay), &resp), "end_time"));
    CHECK(HasViolation(analytics.Kpis(Period(now - 4000 * kDay, now), &resp), "end_time"));
}

TEST_CASE("analytics campaign KPIs: the period reads are index-backed (EXPLAIN as the app role)",
          "[integration][analytics][campaign_kpis][explain]") {
    const std::string tenant = UniqueTenant("ackx");
    pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));  // superuser: seeds, then acts as analytics_app
    {
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        // 200,000 touches, 20,000 cost lines and 20,000 attributions over two years, 100 campaigns, beside another
        // tenant of the same size.
        for (const std::string& who : {t, t + " || '-other'"}) {
            tx.exec(
                "INSERT INTO analytics_campaign_touches (tenant_id, touch_id, campaign_id, person_id, type, "
                "touch_time) SELECT " +
                who +
                ", gen_random_uuid(), md5('c' || (g % 100))::uuid, "
                "md5('p' || (g % 50000))::uuid, (ARRAY['link_clicked','email_clicked','form_submitted',"
                "'email_opened'])[1 + g % 4], timestamptz '2024-01-01' + g * interval '5 minutes' "
                "FROM generate_series(1, 200000) g");
            tx.exec(
                "INSERT INTO analytics_campaign_costs (tenant_id, cost_id, event_id, campaign_id, currency, "
                "amount_minor, incur_date) SELECT " +
                who +
                ", gen_random_uuid(), gen_random_uuid(), "
                "md5('c' || (g % 100))::uuid, 'EUR', 100 + g, date '2024-01-01' + (g % 730) "
                "FROM generate_series(1, 20000) g");
            tx.exec(
                "INSERT INTO analytics_campaign_attributions (tenant_id, opportunity_id, version, event_id, "
                "occurred_at, retracted, close_time, currency, amount_minor, shares) SELECT " +
                who +
                ", gen_random_uuid(), 5, gen_random_uuid(), timestamptz '2024-01-01' + g * interval '50 minutes', "
                "false, timestamptz '2024-01-01' + g * interval '50 minutes', 'EUR', 1000, "
                "jsonb_build_array(jsonb_build_object('model', 'linear', 'campaign_id', md5('c' || (g % 100))::uuid, "
                "'amount_minor', 1000)) FROM generate_series(1, 20000) g");
        }
        tx.commit();
    }
    {
        pqxx::nontransaction n(db);
        n.exec("ANALYZE analytics_campaign_touches, analytics_campaign_costs, analytics_campaign_attributions");
    }
    pqxx::work quoting(db);
    const std::string t = quoting.quote(tenant);
    quoting.abort();
    const std::string month = "1714521600000000, 1717200000000000";  // 2024-05-01 .. 2024-06-01
    namespace sql = crm::analytics::campaign::sql;

    SECTION("costs") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kCostIn.text, t + ", " + month + ", ''");
        INFO(p.text);
        CHECK_FALSE(p.Has("Seq Scan analytics_campaign_costs"));
        CHECK(p.Uses("analytics_campaign_costs_incurred"));
    }
    SECTION("leads") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kLeadsIn.text, t + ", " + month + ", ''");
        INFO(p.text);
        CHECK_FALSE(p.Has("Seq Scan analytics_campaign_touches"));
        CHECK(p.Uses("analytics_campaign_touches_time"));
    }
    SECTION("won deals and the split in force") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kWonIn.text, t + ", " + month);
        INFO(p.text);
        CHECK_FALSE(p.Has("Seq Scan analytics_campaign_attributions"));
        CHECK(p.Uses("analytics_campaign_attributions_closed"));
        CHECK(p.Uses("analytics_campaign_attributions_pkey"));  // the latest row of each deal, probed
    }
}
