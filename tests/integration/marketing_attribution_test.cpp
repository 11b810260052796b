// Closed-loop attribution: won deals (OpportunityWon on crm.sales.v1) split across the campaigns whose touches
// preceded them under the five models, exactly as computed by hand (three campaigns, five touches, two currencies);
// GetCampaignPerformance shows revenue per model, cost and ROI; a deal lost after being won retracts its attribution.
#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/marketing_client.hpp"

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
