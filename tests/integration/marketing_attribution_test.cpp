// Closed-loop attribution: won deals (OpportunityWon on crm.sales.v1) split across the campaigns whose touches
// preceded them under the five models, exactly as computed by hand (three campaigns, five touches, two currencies);
// GetCampaignPerformance shows revenue per model, cost and ROI; a deal lost after being won retracts its attribution;
// the influenced pipeline is the open deals whose people a campaign touched within the lookback (index-backed, as is a
// person's list of touches).
#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/explain.hpp"
#include "../support/marketing_client.hpp"
#include "attribution/sql.hpp"
#include "audience/sql.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace sev = crm::sales::events::v1;
namespace mev = crm::marketing::events::v1;

namespace {

constexpr std::int64_t kDay = 86'400'000'000;

google::protobuf::Timestamp Ts(std::int64_t micros) {
    google::protobuf::Timestamp t;
    t.set_seconds(micros / 1'000'000);
    t.set_nanos(static_cast<int>(micros % 1'000'000) * 1000);
    return t;
}

OutgoingEvent SalesEvent(const std::string& tenant, const std::string& deal, std::int64_t version,
                         const google::protobuf::Message& payload, std::int64_t at) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(crm::common::NewUuid());
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("sales");
    env.set_tenant_id(tenant);
    env.set_aggregate_type("opportunity");
    env.set_aggregate_id(deal);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = Ts(at);
    env.mutable_payload()->PackFrom(payload);
    return {"crm.sales.v1", deal, env.SerializeAsString(), env.event_id(), tenant};
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

std::int64_t NowWholeSeconds() {
    return (std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count() /
            1'000'000) *
           1'000'000;
}

// "CUR amount" per currency of the influenced pipeline, and the number of deals.
std::string Influenced(const mv1::GetCampaignPerformanceResponse& p) {
    std::string out;
    for (const auto& m : p.influenced_pipeline()) {
        out += m.currency_code() + " " + std::to_string(m.amount_minor()) + ", ";
    }
    return out + std::to_string(p.influenced_opportunities()) + " deals";
}

}  // namespace

TEST_CASE("marketing attribution: won deals split exactly under five models - a lost deal retracts",
          "[integration][marketing][attribution]") {
    const std::string tenant = UniqueTenant("mt");
    const std::string token = TokenFor(tenant, {"admin"});
    MarketingClient api(token);
    const mv1::Campaign a = api.MustCreateCampaign("A");
    const mv1::Campaign b = api.MustCreateCampaign("B");
    const mv1::Campaign c = api.MustCreateCampaign("C");
    mv1::AddCampaignCostRequest cost;
    cost.set_campaign_id(a.id());
    cost.mutable_cost()->set_description("Ads");
    cost.mutable_cost()->mutable_amount()->set_amount_minor(1000);
    cost.mutable_cost()->mutable_amount()->set_currency_code("EUR");
    cost.mutable_cost()->set_incur_date("2026-01-15");
    REQUIRE(api.AddCampaignCost(cost).ok());

    // Two people in the audience (a contact, a lead) and their touches (engagements with a campaign, as link clicks,
    // email clicks and web forms leave them), written directly for exact times.
    const std::string x = crm::common::NewUuid(), lead = crm::common::NewUuid(), y = crm::common::NewUuid();
    const std::int64_t close =
        (std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
             .count() /
         1'000'000) *
        1'000'000;
    const std::string t = "'" + tenant + "'";
    QueryScalar("marketing", "INSERT INTO audience (tenant_id, id, kind, source_version, create_time) VALUES (" + t +
                                 ", '" + x + "', 'contact', 1, now()), (" + t + ", '" + lead +
                                 "', 'lead', 1, now()), (" + t + ", '" + y + "', 'contact', 1, now()) RETURNING 1");
    auto touch = [&](const std::string& person, const mv1::Campaign& campaign, int days_before) {
        QueryScalar("marketing",
                    "INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, occur_time) VALUES (" + t +
                        ", gen_random_uuid(), '" + person + "', 'link_clicked', '" + campaign.id() +
                        "', timestamptz 'epoch' + " + std::to_string(close - days_before * kDay) +
                        " * interval '1 microsecond') RETURNING 1");
    };
    touch(x, a, 20);
    touch(x, b, 10);
    touch(lead, c, 5);
    touch(lead, a, 2);
    touch(y, b, 1);
    touch(x, c, 200);  // outside the 90-day lookback

    const std::string deal1 = crm::common::NewUuid(), deal2 = crm::common::NewUuid();
    sev::OpportunityWon won1;
    won1.set_tenant_id(tenant);
    won1.mutable_opportunity()->set_id(deal1);
    won1.mutable_opportunity()->set_contact_id(x);
    won1.mutable_opportunity()->set_lead_id(lead);
    won1.mutable_amount()->set_amount_minor(10000);
    won1.mutable_amount()->set_currency_code("EUR");
    *won1.mutable_close_time() = Ts(close);
    sev::OpportunityWon won2;
    won2.set_tenant_id(tenant);
    won2.mutable_opportunity()->set_id(deal2);
    won2.mutable_opportunity()->set_contact_id(y);
    won2.mutable_amount()->set_amount_minor(999);
    won2.mutable_amount()->set_currency_code("USD");
    *won2.mutable_close_time() = Ts(close);
    EventTap tap("crm.marketing.v1");
    // Only the attributions: the won deals also reach the other areas of marketing (e.g. the influenced pipeline's
    // deal snapshots), and what the set-up wrote may still be on its way.
    tap.Keep([](const crm::common::v1::EventEnvelope& e) {
        return e.event_type() == "crm.marketing.events.v1.AttributionComputed";
    });
    ProduceEvents({SalesEvent(tenant, deal1, 5, won1, close), SalesEvent(tenant, deal2, 3, won2, close)});
    const auto computed = tap.WaitFor(tenant, 2, 30s);
    REQUIRE(computed.size() == 2);
    for (const auto& e : computed) {
        CHECK(e.envelope.event_type() == "crm.marketing.events.v1.AttributionComputed");
        CHECK(e.envelope.aggregate_type() == "attribution");
    }

    // By hand. Deal 1 (EUR 10,000), touches in time order A(-20d) B(-10d) C(-5d) A(-2d):
    //   first A 10000; last A 10000; linear 2500 each: A 5000, B 2500, C 2500; U-shaped 40/10/10/40: A 8000,
    //   B 1000, C 1000; time decay, weights 2^(-20/7), 2^(-10/7), 2^(-5/7), 2^(-2/7) = 0.1380, 0.3715, 0.6095,
    //   0.8203 of 1.9393: 711.6, 1915.4, 3143.0, 4230.0 -> 712, 1915, 3143, 4230 (largest remainders): A 4942,
    //   B 1915, C 3143. Deal 2 (USD 999), one touch B(-1d): B 999 under every model.
    mv1::GetCampaignPerformanceRequest req;
    req.set_campaign_id(a.id());
    auto pa = api.GetCampaignPerformance(req);
    REQUIRE(pa.ok());
    CHECK(Revenue(pa.response) == std::map<std::string, std::string>{{"first_touch", "EUR 10000"},
                                                                     {"last_touch", "EUR 10000"},
                                                                     {"linear", "EUR 5000"},
                                                                     {"time_decay", "EUR 4942"},
                                                                     {"u_shaped", "EUR 8000"}});
    for (const auto& m : pa.response.won_revenue()) {
        REQUIRE(m.has_roi());
        CHECK(m.roi() == Approx((m.revenue().amount_minor() - 1000) / 1000.0));
    }
    REQUIRE(pa.response.cost_size() == 1);
    CHECK(pa.response.cost(0).amount_minor() == 1000);
    CHECK(pa.response.link_clicks() == 2);
    req.set_campaign_id(b.id());
    auto pb = api.GetCampaignPerformance(req);
    CHECK(Revenue(pb.response) == std::map<std::string, std::string>{{"first_touch", "USD 999"},
                                                                     {"last_touch", "USD 999"},
                                                                     {"linear", "EUR 2500 USD 999"},
                                                                     {"time_decay", "EUR 1915 USD 999"},
                                                                     {"u_shaped", "EUR 1000 USD 999"}});
    for (const auto& m : pb.response.won_revenue()) CHECK_FALSE(m.has_roi());  // no cost
    req.set_campaign_id(c.id());
    CHECK(Revenue(api.GetCampaignPerformance(req).response) ==
          std::map<std::string, std::string>{
              {"linear", "EUR 2500"}, {"time_decay", "EUR 3143"}, {"u_shaped", "EUR 1000"}});
    // Every model's parts sum to the deal's amount.
    CHECK(QueryScalar("marketing",
                      "SELECT string_agg(DISTINCT s::text, ',') FROM (SELECT sum(amount_minor) AS s FROM "
                      "attributions WHERE tenant_id = " +
                          t + " AND opportunity_id = '" + deal1 + "' GROUP BY model) q") == "10000");

    // The first deal is lost after being won: its attribution is retracted; the other stays.
    sev::OpportunityLost lost;
    lost.set_tenant_id(tenant);
    lost.mutable_opportunity()->set_id(deal1);
    lost.set_reason("budget");
    EventTap retract_tap("crm.marketing.v1");
    ProduceEvents({SalesEvent(tenant, deal1, 6, lost, close + 1000)});
    const auto retracted = retract_tap.WaitFor(tenant, 1, 30s);
    REQUIRE(retracted.size() == 1);
    mev::AttributionComputed r;
    REQUIRE(retracted[0].envelope.payload().UnpackTo(&r));
    CHECK(r.retracted());
    CHECK(r.opportunity_id() == deal1);
    req.set_campaign_id(a.id());
    CHECK(api.GetCampaignPerformance(req).response.won_revenue_size() == 0);
    req.set_campaign_id(b.id());
    CHECK(Revenue(api.GetCampaignPerformance(req).response).at("linear") == "USD 999");

    // Bad input and other tenants.
    req.set_campaign_id("x");
    req.mutable_start_time()->set_seconds(10);
    req.mutable_end_time()->set_seconds(5);
    CHECK(HasViolation(api.GetCampaignPerformance(req).status, "campaign_id"));
    req.set_campaign_id(a.id());
    CHECK(HasViolation(api.GetCampaignPerformance(req).status, "end_time"));
    MarketingClient other(TokenFor(UniqueTenant("mt"), {"analyst"}));
    req.clear_start_time();
    req.clear_end_time();
    CHECK(other.GetCampaignPerformance(req).status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("marketing attribution: the influenced pipeline is the open deals whose people a campaign touched",
          "[integration][marketing][attribution]") {
    const std::string tenant = UniqueTenant("mp");
    MarketingClient api(TokenFor(tenant, {"analyst"}));
    MarketingClient admin(TokenFor(tenant, {"admin"}));
    const mv1::Campaign a = admin.MustCreateCampaign("A");
    const mv1::Campaign b = admin.MustCreateCampaign("B");
    // People: contact x, contact y, and a lead converted to contact z (its touches count for z's deals).
    const std::string x = crm::common::NewUuid(), y = crm::common::NewUuid(), z = crm::common::NewUuid();
    const std::string lead = crm::common::NewUuid();
    const std::int64_t now = NowWholeSeconds();
    const std::string t = "'" + tenant + "'";
    QueryScalar("marketing",
                "INSERT INTO audience (tenant_id, id, kind, contact_id, source_version, create_time) "
                "VALUES (" +
                    t + ", '" + x + "', 'contact', NULL, 1, now()), (" + t + ", '" + y +
                    "', 'contact', NULL, 1, now()), (" + t + ", '" + lead + "', 'lead', '" + z +
                    "', 1, now()) RETURNING 1");
    auto touch = [&](const std::string& person, const mv1::Campaign& campaign, const std::string& type,
                     int days_before) {
        QueryScalar("marketing",
                    "INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, occur_time) VALUES (" + t +
                        ", gen_random_uuid(), '" + person + "', '" + type + "', '" + campaign.id() +
                        "', timestamptz 'epoch' + " + std::to_string(now - days_before * kDay) +
                        " * interval '1 microsecond') RETURNING 1");
    };
    touch(x, a, "link_clicked", 10);
    touch(lead, a, "email_clicked", 3);
    touch(y, b, "form_submitted", 2);
    touch(x, b, "link_clicked", 200);  // outside the 90-day lookback
    touch(x, b, "email_opened", 1);    // an open is no touch
    touch(x, b, "unsubscribed", 1);    // nor an unsubscribe

    auto deal = [&](const std::string& id, const std::string& contact, std::int64_t minor, const std::string& cur) {
        crm::sales::v1::Opportunity o;
        o.set_id(id);
        o.set_contact_id(contact);
        o.mutable_amount()->set_amount_minor(minor);
        o.mutable_amount()->set_currency_code(cur);
        o.set_status(crm::sales::v1::OPPORTUNITY_STATUS_OPEN);
        return o;
    };
    const std::string d1 = crm::common::NewUuid(), d2 = crm::common::NewUuid(), d3 = crm::common::NewUuid();
    const std::string d4 = crm::common::NewUuid(), d5 = crm::common::NewUuid();
    std::vector<OutgoingEvent> events;
    auto created = [&](const crm::sales::v1::Opportunity& o, std::int64_t version) {
        sev::OpportunityCreated e;
        e.set_tenant_id(tenant);
        *e.mutable_opportunity() = o;
        e.mutable_opportunity()->set_version(version);
        events.push_back(SalesEvent(tenant, o.id(), version, e, now));
    };
    created(deal(d1, x, 5000, "EUR"), 1);
    created(deal(d2, z, 700, "USD"), 1);
    created(deal(d3, y, 300, "EUR"), 1);
    created(deal(d4, x, 100, "EUR"), 1);
    created(deal(d5, x, 50, "EUR"), 2);
    sev::OpportunityLost lost;  // d4 is lost: no longer pipeline
    lost.set_tenant_id(tenant);
    *lost.mutable_opportunity() = deal(d4, x, 100, "EUR");
    lost.mutable_opportunity()->set_status(crm::sales::v1::OPPORTUNITY_STATUS_LOST);
    lost.mutable_opportunity()->set_version(2);
    events.push_back(SalesEvent(tenant, d4, 2, lost, now));
    sev::OpportunityUpdated stale;  // an older snapshot of d5 arriving late changes nothing
    stale.set_tenant_id(tenant);
    *stale.mutable_opportunity() = deal(d5, x, 9999, "EUR");
    stale.mutable_opportunity()->set_version(1);
    events.push_back(SalesEvent(tenant, d5, 1, stale, now));
    ProduceEvents(events);

    // By hand. A touched x (10 days ago) and the lead converted to z (3 days ago): d1 EUR 5000 + d5 EUR 50 (not the
    // stale 9999), d2 USD 700; d4 is lost. B touched y (2 days ago): d3 EUR 300; x's B click is 200 days old, x's open
    // and unsubscribe are no touches.
    mv1::GetCampaignPerformanceRequest req;
    req.set_campaign_id(a.id());
    std::string got;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
        auto r = api.GetCampaignPerformance(req);
        REQUIRE(r.ok());
        got = Influenced(r.response);
        if (got == "EUR 5050, USD 700, 3 deals") break;
        std::this_thread::sleep_for(200ms);
    }
    CHECK(got == "EUR 5050, USD 700, 3 deals");
    req.set_campaign_id(b.id());
    CHECK(Influenced(api.GetCampaignPerformance(req).response) == "EUR 300, 1 deals");

    // As of five days ago (the period's end): only x's touch of A was before it; d1 and d5 are open now.
    req.set_campaign_id(a.id());
    *req.mutable_end_time() = Ts(now - 5 * kDay);
    CHECK(Influenced(api.GetCampaignPerformance(req).response) == "EUR 5050, 2 deals");
    req.clear_end_time();

    // d1 is won: it leaves the pipeline (and is attributed instead).
    sev::OpportunityWon won;
    won.set_tenant_id(tenant);
    *won.mutable_opportunity() = deal(d1, x, 5000, "EUR");
    won.mutable_opportunity()->set_version(2);
    *won.mutable_amount() = won.opportunity().amount();
    *won.mutable_close_time() = Ts(now);
    ProduceEvents({SalesEvent(tenant, d1, 2, won, now)});
    const auto until_won = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until_won) {
        got = Influenced(api.GetCampaignPerformance(req).response);
        if (got == "EUR 50, USD 700, 2 deals") break;
        std::this_thread::sleep_for(200ms);
    }
    CHECK(got == "EUR 50, USD 700, 2 deals");
    // Another tenant sees none of it.
    MarketingClient other(TokenFor(UniqueTenant("mp"), {"analyst"}));
    CHECK(other.GetCampaignPerformance(req).status.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE(
    "marketing attribution: the influenced pipeline query is index-backed at 1M touches (EXPLAIN as the app role)",
    "[integration][marketing][explain]") {
    const std::string tenant = UniqueTenant("mpx");
    const std::string campaign = crm::common::NewUuid(), other_campaign = crm::common::NewUuid();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_MARKETING_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 100k people, 1M touches over 20 campaigns (50k of the campaign asked about), 100k deals (half open).
        tx.exec("INSERT INTO campaigns (tenant_id, id, name, type, status, utm_campaign) SELECT " + t +
                ", c, 'C', 'EMAIL', 'ACTIVE', 'c' || c FROM unnest(ARRAY[" + tx.quote(campaign) + ", " +
                tx.quote(other_campaign) + "]::uuid[]) AS c");
        tx.exec("INSERT INTO audience (tenant_id, id, kind, source_version, create_time) SELECT " + t +
                ", ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'contact', 1, now() FROM "
                "generate_series(1, 100000) AS g");
        tx.exec("INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, occur_time) SELECT " + t +
                ", gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(to_hex(1 + g % 100000), 12, '0'))::uuid, "
                "'link_clicked', CASE WHEN g % 20 = 0 THEN " +
                tx.quote(campaign) + "::uuid ELSE " + tx.quote(other_campaign) +
                "::uuid END, now() - (g % 200) * interval '1 day' FROM "
                "generate_series(1, 1000000) AS g");
        tx.exec(
            "INSERT INTO opportunities (tenant_id, id, contact_id, amount_minor, currency_code, state, version) "
            "SELECT " +
            t +
            ", gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, "
            "1000, 'EUR', CASE WHEN g % 2 = 0 THEN 'open' ELSE 'won' END, 1 FROM generate_series(1, 100000) AS g");
        tx.exec("ANALYZE audience");
        tx.exec("ANALYZE engagements");
        tx.exec("ANALYZE opportunities");
        tx.commit();
    }
    const std::string now = std::to_string(NowWholeSeconds());
    const QueryPlan plan = ExplainAs(conn, "marketing_app", tenant, crm::marketing::attribution::sql::kInfluenced.text,
                                     "'" + tenant + "', '" + campaign + "', " + now + ", 90");
    INFO(plan.text);
    CHECK(plan.Uses("engagements_campaign"));
    CHECK(plan.Uses("audience_pkey"));
    CHECK(plan.Uses("opportunities_open_contact"));
    CHECK(plan.Uses("opportunities_open_lead"));
    CHECK_FALSE(plan.Has("Seq Scan engagements"));
    CHECK_FALSE(plan.Has("Seq Scan audience"));
    CHECK_FALSE(plan.Has("Seq Scan opportunities"));
    // GetAudienceMember's touches of one person (audience/sql.hpp): a probe of the person's engagements, campaigns by
    // key.
    const QueryPlan touches =
        ExplainAs(conn, "marketing_app", tenant, crm::marketing::audience::sql::kPersonTouches.text,
                  "'" + tenant + "', '00000000-0000-0000-0000-000000000007'");
    INFO(touches.text);
    // Either of the person's engagement indexes (by type, or by time since ListPersonEngagement) is a probe.
    CHECK((touches.Uses("engagements_person") || touches.Uses("engagements_person_time")));
    CHECK_FALSE(touches.Has("Seq Scan engagements"));
    pqxx::work cleanup(conn);  // 1M rows of one test tenant do not stay for the next runs
    for (const char* table : {"engagements", "opportunities", "audience", "campaigns"}) {
        cleanup.exec(std::string("DELETE FROM ") + table + " WHERE tenant_id = " + cleanup.quote(tenant));
    }
    cleanup.commit();
    // Statistics of the rows just removed would mislead the plans of the EXPLAIN tests that run next.
    pqxx::nontransaction stats(conn);
    for (const char* table : {"engagements", "opportunities", "audience"}) stats.exec(std::string("ANALYZE ") + table);
}
