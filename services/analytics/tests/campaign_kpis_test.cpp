// Marketing events -> campaign facts and the campaign KPI math, without I/O: cost lines with their incur date,
// touches, attribution splits and retractions; unreadable payloads rejected (the consumer dead-letters them), other
// marketing events ignored; cost per lead rounded half away from zero, revenue and ROI per model and currency, never
// mixing currencies.
#include <crm/common/v1/event.pb.h>
#include <crm/marketing/events/v1/events.pb.h>

#include <catch2/catch.hpp>

#include "campaign_kpis/facts.hpp"
#include "campaign_kpis/projector.hpp"
#include "projection/projector.hpp"
#include "projection/proto_time.hpp"

using namespace crm::analytics;
namespace mev = crm::marketing::events::v1;

namespace {

const std::string kCampaign = "8B1C2A64-8A8E-4C1B-9E0C-3C6E5B7A9D10";
const std::string kCampaignLower = "8b1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10";
const std::string kOther = "11111111-2222-4333-8444-555555555555";
const std::string kEventId = "2d6c1c0e-5f33-4b8c-9b7e-2a8f0f4b1e11";
const std::string kPerson = "9f1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d99";
constexpr int64_t kS = 1000000;
constexpr int64_t kBase = 1'700'000'000'000'000;

crm::common::v1::EventEnvelope Envelope(const google::protobuf::Message& payload, int64_t version = 3) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(kEventId);
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("marketing");
    env.set_tenant_id("acme");
    env.set_aggregate_type("x");
    env.set_aggregate_id(kCampaign);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = projection::ToTimestamp(kBase);
    env.mutable_payload()->PackFrom(payload);
    return env;
}

}  // namespace

TEST_CASE("campaign projector: a cost line with its incur date as a UTC day") {
    mev::CampaignCostAdded e;
    e.set_campaign_id(kCampaign);
    e.mutable_cost()->set_id(kOther);
    e.mutable_cost()->mutable_amount()->set_currency_code("EUR");
    e.mutable_cost()->mutable_amount()->set_amount_minor(12345);
    e.mutable_cost()->set_incur_date("1970-01-11");
    const campaign::CampaignFacts f = campaign::Project(Envelope(e));
    REQUIRE(f.costs.size() == 1);
    CHECK(f.costs[0].campaign_id == kCampaignLower);
    CHECK(f.costs[0].currency == "EUR");
    CHECK(f.costs[0].amount_minor == 12345);
    CHECK(f.costs[0].incur_day == 10);
    CHECK(f.touches.empty());
    CHECK(f.attributions.empty());

    e.mutable_cost()->set_incur_date("2026-02-30");
    CHECK_THROWS_AS(campaign::Project(Envelope(e)), projection::UninterpretableEvent);
    e.mutable_cost()->set_incur_date("2026-02-03");
    e.mutable_cost()->mutable_amount()->set_currency_code("eur");
    CHECK_THROWS_AS(campaign::Project(Envelope(e)), projection::UninterpretableEvent);
}

TEST_CASE("campaign projector: touches keep the person (empty for a visitor) and their time") {
    mev::TouchRecorded e;
    e.set_touch_id(kOther);
    e.set_campaign_id(kCampaign);
    e.set_person_id(kPerson);
    e.set_type("form_submitted");
    e.set_channel("web_form");
    *e.mutable_touch_time() = projection::ToTimestamp(kBase - 60 * kS);
    campaign::CampaignFacts f = campaign::Project(Envelope(e));
    REQUIRE(f.touches.size() == 1);
    CHECK(f.touches[0].person_id == kPerson);
    CHECK(f.touches[0].type == "form_submitted");
    CHECK(f.touches[0].touch_time == kBase - 60 * kS);

    e.clear_person_id();
    e.set_visitor_id("visitor-1");
    f = campaign::Project(Envelope(e));
    REQUIRE(f.touches.size() == 1);
    CHECK(f.touches[0].person_id.empty());

    e.set_campaign_id("not-a-uuid");
    CHECK_THROWS_AS(campaign::Project(Envelope(e)), projection::UninterpretableEvent);
}

TEST_CASE("campaign projector: attribution splits and retractions, unreadable payloads, other events") {
    mev::AttributionComputed e;
    e.set_opportunity_id(kOther);
    e.mutable_amount()->set_currency_code("USD");
    e.mutable_amount()->set_amount_minor(1000);
    *e.mutable_close_time() = projection::ToTimestamp(kBase - kS);
    auto* s = e.add_shares();
    s->set_model("linear");
    s->set_campaign_id(kCampaign);
    s->set_amount_minor(1000);
    campaign::CampaignFacts f = campaign::Project(Envelope(e, 7));
    REQUIRE(f.attributions.size() == 1);
    const campaign::Attribution& a = f.attributions[0];
    CHECK(a.version == 7);
    CHECK_FALSE(a.retracted);
    CHECK(a.close_time == kBase - kS);
    CHECK(a.currency == "USD");
    REQUIRE(a.shares.size() == 1);
    CHECK(a.shares[0].campaign_id == kCampaignLower);

    mev::AttributionComputed retracted;
    retracted.set_opportunity_id(kOther);
    retracted.set_retracted(true);
    f = campaign::Project(Envelope(retracted, 8));
    REQUIRE(f.attributions.size() == 1);
    CHECK(f.attributions[0].retracted);
    CHECK_FALSE(f.attributions[0].close_time.has_value());

    crm::common::v1::EventEnvelope bad = Envelope(e);
    bad.mutable_payload()->set_value("\xff\xff");
    CHECK_THROWS_AS(campaign::Project(bad), projection::UninterpretableEvent);

    mev::EmailSent sent;
    sent.set_send_id(kOther);
    CHECK(campaign::Project(Envelope(sent)).empty());
}

TEST_CASE("campaign KPIs: cost per lead rounds half away from zero") {
    CHECK(campaign::DivideRounded(10, 4) == 3);    // 2.5
    CHECK(campaign::DivideRounded(10, 3) == 3);    // 3.33
    CHECK(campaign::DivideRounded(11, 3) == 4);    // 3.67
    CHECK(campaign::DivideRounded(-10, 4) == -3);  // -2.5
    CHECK(campaign::DivideRounded(-10, 3) == -3);
    CHECK(campaign::DivideRounded(0, 7) == 0);
}

TEST_CASE("campaign KPIs: cost, leads, revenue and ROI per model and currency, by hand") {
    campaign::PeriodInputs in;
    const std::string a = "aaaaaaaa-0000-4000-8000-000000000001";
    const std::string b = "bbbbbbbb-0000-4000-8000-000000000002";
    in.cost[{a, "EUR"}] = 10000;  // 100.00 EUR
    in.cost[{b, "USD"}] = 3000;
    in.leads[a] = 3;
    in.leads[b] = 0;
    campaign::Attribution d1;  // 150.00 EUR: linear 2/3 to a, first touch all to a
    d1.currency = "EUR";
    d1.shares = {{"linear", a, 10000}, {"linear", b, 5000}, {"first_touch", a, 15000}, {"last_touch", b, 15000}};
    campaign::Attribution d2;  // a deal in USD that touched a: never added to the EUR figures
    d2.currency = "USD";
    d2.shares = {{"linear", a, 700}};
    in.won = {d1, d2};

    const auto all = campaign::ComputeCampaignKpis(in, "");
    REQUIRE(all.size() == 2);
    const campaign::CampaignKpis& ka = all[0];
    CHECK(ka.campaign_id == a);
    CHECK(ka.leads == 3);
    REQUIRE(ka.currencies.size() == 2);
    const campaign::CurrencyKpis& eur = ka.currencies[0];
    CHECK(eur.currency == "EUR");
    CHECK(eur.cost_minor == 10000);
    CHECK(eur.cost_per_lead_minor == 3333);
    REQUIRE(eur.models.size() == 5);
    CHECK(eur.models[0].model == "first_touch");
    CHECK(eur.models[0].revenue_minor == 15000);
    CHECK(eur.models[0].net_minor == 5000);
    CHECK(eur.models[0].roi_defined);
    CHECK(eur.models[0].roi == Approx(0.5));
    CHECK(eur.models[1].model == "last_touch");
    CHECK(eur.models[1].revenue_minor == 0);
    CHECK(eur.models[1].roi == Approx(-1.0));
    CHECK(eur.models[2].model == "linear");
    CHECK(eur.models[2].revenue_minor == 10000);
    CHECK(eur.models[2].roi == Approx(0.0));
    const campaign::CurrencyKpis& usd = ka.currencies[1];
    CHECK(usd.currency == "USD");
    CHECK(usd.cost_minor == 0);
    CHECK(usd.models[2].revenue_minor == 700);
    CHECK(usd.models[2].net_minor == 700);
    CHECK_FALSE(usd.models[2].roi_defined);
    CHECK(usd.models[2].roi == 0.0);

    const campaign::CampaignKpis& kb = all[1];
    CHECK(kb.campaign_id == b);
    CHECK(kb.leads == 0);
    REQUIRE(kb.currencies.size() == 2);
    CHECK(kb.currencies[0].currency == "EUR");
    CHECK(kb.currencies[0].cost_minor == 0);
    CHECK(kb.currencies[0].models[1].revenue_minor == 15000);
    CHECK(kb.currencies[1].currency == "USD");
    CHECK(kb.currencies[1].cost_minor == 3000);
    CHECK(kb.currencies[1].cost_per_lead_minor == 0);  // no leads
    CHECK(kb.currencies[1].models[2].net_minor == -3000);

    const auto only_b = campaign::ComputeCampaignKpis(in, b);
    REQUIRE(only_b.size() == 1);
    CHECK(only_b[0].campaign_id == b);
}
