// The analytics service against the real stack: KPIs through the gateway from events on the real Kafka topics,
// applied by the real consumer into the real analytics database.
//
// Two sources of events:
// - the contacts service itself (contacts and companies created through the gateway: new contacts/companies today);
// - a scripted sales scenario published to crm.leads.v1 and crm.sales.v1 exactly as the leads and sales services'
//   outboxes publish (EventEnvelope with the documented payloads, key = aggregate id, CloudEvents headers), with
//   explicit occurred_at times in March 2026, so that every KPI can be worked out by hand (the services stamp their
//   own clock; they cannot backdate). The figures are the ones of services/analytics/tests/kpis_test.cpp.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/common/v1/event.pb.h>
#include <crm/leads/events/v1/events.pb.h>
#include <crm/sales/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>
#include <librdkafka/rdkafkacpp.h>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <thread>

#include "../support/analytics_client.hpp"
#include "../support/contacts_client.hpp"
#include "../support/events.hpp"
#include "../support/harness.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace av1 = crm::analytics::v1;
namespace cc = crm::common;
namespace le = crm::leads::events::v1;
namespace se = crm::sales::events::v1;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

namespace {

long Count(const std::string& sql) { return std::stol(QueryScalar("analytics", sql)); }

// The leads and sales events the tests publish that the consumer applied. Marketing reacts to a web-form lead with a
// TouchRecorded of its own, which analytics also applies: those are not the test's events and are not counted.
long Processed(const std::string& tenant) {
    return Count("SELECT count(*) FROM crm_processed_events WHERE tenant_id = '" + tenant +
                 "' AND topic IN ('crm.leads.v1', 'crm.sales.v1')");
}

// Every event analytics applied for the tenant, the marketing reactions included.
long Applied(const std::string& tenant) {
    return Count("SELECT count(*) FROM crm_processed_events WHERE tenant_id = '" + tenant + "'");
}

// The test's n events settled: analytics applied them, marketing applied them too, and analytics applied every event
// marketing emitted for the tenant in reaction (a web-form lead's touch, a won deal's attribution). A rebuild from the
// log then sees the events the live read model saw.
bool Settled(const std::string& tenant, long n) {
    if (Processed(tenant) != n) return false;
    const std::string t = "'" + tenant + "'";
    const auto marketing = [](const std::string& sql) { return std::stol(QueryScalar("marketing", sql)); };
    if (marketing("SELECT count(*) FROM crm_processed_events WHERE tenant_id = " + t +
                  " AND topic IN ('crm.leads.v1', 'crm.sales.v1')") != n) {
        return false;
    }
    const long emitted = marketing("SELECT count(*) FROM crm_outbox WHERE tenant_id = " + t);
    return Count("SELECT count(*) FROM crm_processed_events WHERE tenant_id = " + t +
                 " AND topic = 'crm.marketing.v1'") == emitted;
}

long FactRows(const std::string& tenant) {
    return Count("SELECT (SELECT count(*) FROM analytics_record_versions WHERE tenant_id = '" + tenant +
                 "') + (SELECT count(*) FROM analytics_lead_versions WHERE tenant_id = '" + tenant +
                 "') + (SELECT count(*) FROM analytics_opportunity_versions WHERE tenant_id = '" + tenant + "')");
}

// Sum of a counter family on the analytics service's /metrics.
double MetricSum(const std::string& name) {
    const std::string address = RequireEnv("CRM_TEST_ANALYTICS_METRICS");
    const std::string cmd = "curl -s --max-time 5 http://" + address + "/metrics";
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
    pclose(pipe);
    double total = 0;
    const std::regex line("^" + name + "\\{[^}]*\\} ([0-9.e+]+)$");
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
        std::smatch m;
        if (std::regex_match(l, m, line)) total += std::stod(m[1]);
    }
    return total;
}

Timestamp Ts(int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); }

// ---------------------------------------------------------------------------------------------------------------
// Publishing as the outbox relays do

using Message = OutgoingEvent;

void Publish(const std::vector<Message>& messages) { ProduceEvents(messages); }

Message Event(const std::string& tenant, const std::string& topic, const std::string& source,
              const std::string& aggregate_type, const std::string& aggregate_id, int64_t version, int64_t at,
              const google::protobuf::Message& payload) {
    cc::v1::EventEnvelope env;
    env.set_event_id(cc::NewUuid());
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source(source);
    env.set_tenant_id(tenant);
    env.set_aggregate_type(aggregate_type);
    env.set_aggregate_id(aggregate_id);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = Ts(at);
    env.mutable_payload()->PackFrom(payload);
    return {topic, aggregate_id, env.SerializeAsString(), env.event_id(), tenant};
}

constexpr int64_t kDay0 = 20514;  // 2026-03-02, a Monday
constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kDayMicros = 24 * kHour;
int64_t At(int day, int hour = 0) { return (kDay0 + day) * kDayMicros + hour * kHour; }

// The scenario of services/analytics/tests/kpis_test.cpp, as leads and sales events.
class SalesScenario {
  public:
    explicit SalesScenario(std::string tenant) : tenant_(std::move(tenant)) {
        // Leads: L1, L2 web/c1; L3, L4 event; L5 web/c1 after the week.
        auto l1 = NewLead("web", "c1", At(0, 8), At(0, 12));
        auto l2 = NewLead("web", "c1", At(0, 9), At(0, 13));
        auto l3 = NewLead("event", "", At(1, 10), At(1, 14));
        auto l4 = NewLead("event", "", At(1, 11), At(1, 15));
        NewLead("web", "c1", At(8, 0), At(8, 4));
        Touch(l1, At(0, 9));
        Convert(l1, At(2, 8));
        Touch(l2, At(0, 15));
        Touch(l3, At(1, 11));
        Convert(l3, At(3, 10));
        Breach(l4, At(1, 15) + 60 * 1000000);
        // Opportunities in pipeline p1: s1 Qualify 20 %, s2 Propose 50 %.
        auto o1 = NewOpp(100000, "EUR", "s1", 20, "2026-03-12", At(0, 10), "u1");
        auto o2 = NewOpp(50000, "EUR", "s1", 20, "2026-03-06", At(0, 12), "u1");
        auto o3 = NewOpp(20000, "USD", "s1", 20, "2026-03-08", At(1, 9), "u1");
        NewOpp(30001, "EUR", "s2", 50, "2026-03-22", At(1, 0), "u2");
        Move(o1, "s2", 50, At(2, 10));
        Close(o1, true, At(5, 10));
        Close(o2, false, At(3, 12));
        Move(o3, "s2", 50, At(4, 9));
    }

    const std::vector<Message>& messages() const { return messages_; }

  private:
    struct LeadState {
        crm::leads::v1::Lead lead;
    };
    struct OppState {
        crm::sales::v1::Opportunity opp;
    };

    std::shared_ptr<LeadState> NewLead(const char* source, const char* campaign, int64_t at, int64_t due) {
        auto s = std::make_shared<LeadState>();
        auto& l = s->lead;
        l.set_id(cc::NewUuid());
        l.set_family_name("Lead");
        l.set_source(source);
        l.set_campaign_id(campaign);
        l.set_owner_id("u1");
        l.set_status(crm::leads::v1::LEAD_STATUS_NEW);
        *l.mutable_create_time() = Ts(at);
        *l.mutable_update_time() = Ts(at);
        *l.mutable_first_touch_deadline() = Ts(due);
        l.set_version(1);
        le::LeadCreated e;
        *e.mutable_lead() = l;
        messages_.push_back(LeadEvent(l, at, e));
        return s;
    }
    void Touch(const std::shared_ptr<LeadState>& s, int64_t at) {
        auto& l = s->lead;
        l.set_version(l.version() + 1);
        l.set_status(crm::leads::v1::LEAD_STATUS_WORKING);
        *l.mutable_first_touch_time() = Ts(at);
        *l.mutable_update_time() = Ts(at);
        le::LeadStatusChanged e;
        *e.mutable_lead() = l;
        e.set_from_status(crm::leads::v1::LEAD_STATUS_NEW);
        e.set_to_status(crm::leads::v1::LEAD_STATUS_WORKING);
        e.set_first_touch(true);
        messages_.push_back(LeadEvent(l, at, e));
    }
    void Convert(const std::shared_ptr<LeadState>& s, int64_t at) {
        auto& l = s->lead;
        l.set_version(l.version() + 1);
        l.set_status(crm::leads::v1::LEAD_STATUS_CONVERTED);
        *l.mutable_conversion()->mutable_convert_time() = Ts(at);
        l.mutable_conversion()->set_contact_id(cc::NewUuid());
        *l.mutable_update_time() = Ts(at);
        le::LeadConverted e;
        *e.mutable_lead() = l;
        e.set_contact_id(l.conversion().contact_id());
        *e.mutable_convert_time() = Ts(at);
        e.set_from_status(crm::leads::v1::LEAD_STATUS_WORKING);
        messages_.push_back(LeadEvent(l, at, e));
    }
    void Breach(const std::shared_ptr<LeadState>& s, int64_t at) {
        auto& l = s->lead;
        l.set_version(l.version() + 1);
        *l.mutable_sla_breach_time() = Ts(at);
        le::LeadSlaBreached e;
        *e.mutable_lead() = l;
        *e.mutable_first_touch_deadline() = l.first_touch_deadline();
        *e.mutable_detect_time() = Ts(at);
        messages_.push_back(LeadEvent(l, at, e));
    }
    Message LeadEvent(const crm::leads::v1::Lead& l, int64_t at, const google::protobuf::Message& payload) {
        return Event(tenant_, "crm.leads.v1", "leads", "lead", l.id(), l.version(), at, payload);
    }

    std::shared_ptr<OppState> NewOpp(int64_t amount, const char* currency, const char* stage, int probability,
                                     const char* expected_close, int64_t at, const char* owner) {
        auto s = std::make_shared<OppState>();
        auto& o = s->opp;
        o.set_id(cc::NewUuid());
        o.set_name("Deal");
        o.set_pipeline_id("p1");
        o.set_stage_id(stage);
        o.set_stage_name(std::string(stage) == "s1" ? "Qualify" : "Propose");
        o.set_probability(probability);
        o.mutable_amount()->set_amount_minor(amount);
        o.mutable_amount()->set_currency_code(currency);
        o.set_expected_close_date(expected_close);
        o.set_owner_id(owner);
        o.set_status(crm::sales::v1::OPPORTUNITY_STATUS_OPEN);
        *o.mutable_stage_enter_time() = Ts(at);
        *o.mutable_create_time() = Ts(at);
        *o.mutable_update_time() = Ts(at);
        o.set_version(1);
        se::OpportunityCreated e;
        e.set_tenant_id(tenant_);
        *e.mutable_opportunity() = o;
        *e.mutable_occurred_at() = Ts(at);
        messages_.push_back(OppEvent(o, at, e));
        return s;
    }
    se::OpportunityStageChanged StageChange(crm::sales::v1::Opportunity& o, const char* stage, const char* name,
                                            int probability, int64_t at) {
        se::OpportunityStageChanged e;
        e.set_tenant_id(tenant_);
        e.set_opportunity_id(o.id());
        e.set_pipeline_id(o.pipeline_id());
        e.set_from_stage_id(o.stage_id());
        e.set_from_stage_name(o.stage_name());
        e.set_from_probability(o.probability());
        e.set_to_stage_id(stage);
        e.set_to_stage_name(name);
        e.set_to_probability(probability);
        *e.mutable_amount() = o.amount();
        *e.mutable_from_stage_enter_time() = o.stage_enter_time();
        e.set_time_in_from_stage_seconds((at - TimeUtil::TimestampToMicroseconds(o.stage_enter_time())) / 1000000);
        o.set_stage_id(stage);
        o.set_stage_name(name);
        o.set_probability(probability);
        *o.mutable_stage_enter_time() = Ts(at);
        *o.mutable_update_time() = Ts(at);
        *e.mutable_opportunity() = o;
        *e.mutable_occurred_at() = Ts(at);
        return e;
    }
    void Move(const std::shared_ptr<OppState>& s, const char* stage, int probability, int64_t at) {
        auto& o = s->opp;
        o.set_version(o.version() + 1);
        const auto e = StageChange(o, stage, std::string(stage) == "s1" ? "Qualify" : "Propose", probability, at);
        messages_.push_back(OppEvent(o, at, e));
    }
    // As the sales service does: OpportunityStageChanged and then OpportunityWon/Lost in one transaction, both with
    // the version after the change.
    void Close(const std::shared_ptr<OppState>& s, bool won, int64_t at) {
        auto& o = s->opp;
        o.set_version(o.version() + 1);
        o.set_status(won ? crm::sales::v1::OPPORTUNITY_STATUS_WON : crm::sales::v1::OPPORTUNITY_STATUS_LOST);
        *o.mutable_close_time() = Ts(at);
        const auto change = StageChange(o, won ? "won" : "lost", won ? "Closed Won" : "Closed Lost", won ? 100 : 0, at);
        messages_.push_back(OppEvent(o, at, change));
        if (won) {
            se::OpportunityWon e;
            e.set_tenant_id(tenant_);
            *e.mutable_opportunity() = o;
            *e.mutable_amount() = o.amount();
            *e.mutable_close_time() = Ts(at);
            *e.mutable_occurred_at() = Ts(at);
            messages_.push_back(OppEvent(o, at, e));
        } else {
            se::OpportunityLost e;
            e.set_tenant_id(tenant_);
            *e.mutable_opportunity() = o;
            e.set_reason("budget");
            *e.mutable_amount() = o.amount();
            *e.mutable_close_time() = Ts(at);
            *e.mutable_occurred_at() = Ts(at);
            messages_.push_back(OppEvent(o, at, e));
        }
    }
    Message OppEvent(const crm::sales::v1::Opportunity& o, int64_t at, const google::protobuf::Message& payload) {
        return Event(tenant_, "crm.sales.v1", "sales", "opportunity", o.id(), o.version(), at, payload);
    }

    std::string tenant_;
    std::vector<Message> messages_;
};

av1::GetKpisRequest Week() {
    av1::GetKpisRequest req;
    *req.mutable_start_time() = Ts(At(0));
    *req.mutable_end_time() = Ts(At(7));
    return req;
}

// Every figure of the scenario's week (hand computation in services/analytics/tests/kpis_test.cpp).
void CheckWeek(const av1::GetKpisResponse& k) {
    CHECK(TimeUtil::TimestampToMicroseconds(k.as_of_time()) == At(7));
    REQUIRE(k.pipeline_size() == 2);
    CHECK(k.pipeline(0).stage_id() == "s2");
    CHECK(k.pipeline(0).stage_name() == "Propose");
    CHECK(k.pipeline(0).currency_code() == "EUR");
    CHECK(k.pipeline(0).count() == 1);
    CHECK(k.pipeline(0).value_minor() == 30001);
    CHECK(k.pipeline(0).weighted_value_minor() == 15001);
    CHECK(k.pipeline(1).currency_code() == "USD");
    CHECK(k.pipeline(1).value_minor() == 20000);
    CHECK(k.pipeline(1).weighted_value_minor() == 10000);
    CHECK(k.win_rate().numerator() == 1);
    CHECK(k.win_rate().denominator() == 2);
    CHECK(k.win_rate().value() == 0.5);
    REQUIRE(k.deal_sizes_size() == 1);
    CHECK(k.deal_sizes(0).currency_code() == "EUR");
    CHECK(k.deal_sizes(0).won_count() == 1);
    CHECK(k.deal_sizes(0).won_value_minor() == 100000);
    CHECK(k.deal_sizes(0).average_minor() == 100000);
    CHECK(k.sales_cycle_won_count() == 1);
    CHECK(k.sales_cycle_average_seconds() == 5 * 86400);
    REQUIRE(k.time_in_stage_size() == 2);
    CHECK(k.time_in_stage(0).stage_id() == "s1");
    CHECK(k.time_in_stage(0).exits() == 3);
    CHECK(k.time_in_stage(0).total_seconds() == 8 * 86400);
    CHECK(k.time_in_stage(0).average_seconds() == 230400);
    CHECK(k.time_in_stage(1).stage_id() == "s2");
    CHECK(k.time_in_stage(1).exits() == 1);
    CHECK(k.time_in_stage(1).total_seconds() == 3 * 86400);
    REQUIRE(k.lead_conversion_size() == 2);
    CHECK(k.lead_conversion(0).source() == "event");
    CHECK(k.lead_conversion(0).conversion().numerator() == 1);
    CHECK(k.lead_conversion(0).conversion().denominator() == 2);
    CHECK(k.lead_conversion(1).source() == "web");
    CHECK(k.lead_conversion(1).campaign_id() == "c1");
    CHECK(k.lead_conversion(1).conversion().numerator() == 1);
    CHECK(k.lead_conversion(1).conversion().denominator() == 2);
    CHECK(k.lead_conversion_total().numerator() == 2);
    CHECK(k.lead_conversion_total().denominator() == 4);
    CHECK(k.lead_responses() == 3);
    CHECK(k.lead_response_total_seconds() == 8 * 3600);
    CHECK(k.lead_response_average_seconds() == 9600);
    CHECK(k.lead_sla_attainment().numerator() == 2);
    CHECK(k.lead_sla_attainment().denominator() == 4);
    CHECK(k.new_contacts() == 0);
    CHECK(k.new_companies() == 0);
    REQUIRE(k.forecast_size() == 1);
    CHECK(k.forecast(0).currency_code() == "EUR");
    CHECK(k.forecast(0).forecast_value_minor() == 0);
    CHECK(k.forecast(0).actual_won_minor() == 100000);
}

std::string Serialize(const google::protobuf::Message& m) {
    std::string s;
    REQUIRE(m.SerializeToString(&s));
    return s;
}

// Publishes the scenario for a fresh tenant and waits until the consumer applied every event.
std::pair<std::string, std::vector<Message>> PublishedScenario() {
    const std::string tenant = UniqueTenant("an");
    SalesScenario scenario(tenant);
    Publish(scenario.messages());
    const long n = static_cast<long>(scenario.messages().size());
    REQUIRE(Eventually([&] { return Settled(tenant, n); }));
    return {tenant, scenario.messages()};
}

}  // namespace

TEST_CASE("analytics: a scripted leads and sales scenario gives the KPIs computed by hand",
          "[integration][analytics]") {
    const auto [tenant, messages] = PublishedScenario();
    AnalyticsClient client(TokenFor(tenant, {"analyst"}));

    av1::GetKpisResponse week;
    REQUIRE(client.Kpis(Week(), &week).ok());
    CheckWeek(week);

    SECTION("pipeline as of a past time") {
        auto req = Week();
        *req.mutable_as_of_time() = Ts(At(2, 12));
        av1::GetKpisResponse k;
        REQUIRE(client.Kpis(req, &k).ok());
        // s1 EUR (O2 500.00 x 20 %), s1 USD (O3 200.00 x 20 %), s2 EUR (O1 1000.00 + O4 300.01) x 50 % = 650.005.
        REQUIRE(k.pipeline_size() == 3);
        CHECK(k.pipeline(0).stage_id() == "s1");
        CHECK(k.pipeline(0).currency_code() == "EUR");
        CHECK(k.pipeline(0).weighted_value_minor() == 10000);
        CHECK(k.pipeline(1).currency_code() == "USD");
        CHECK(k.pipeline(1).weighted_value_minor() == 4000);
        CHECK(k.pipeline(2).stage_id() == "s2");
        CHECK(k.pipeline(2).count() == 2);
        CHECK(k.pipeline(2).value_minor() == 130001);
        CHECK(k.pipeline(2).weighted_value_minor() == 65001);
    }
    SECTION("forecast vs actual and filters") {
        av1::GetKpisRequest req;
        *req.mutable_start_time() = Ts(At(1));
        *req.mutable_end_time() = Ts(At(8));
        av1::GetKpisResponse k;
        REQUIRE(client.Kpis(req, &k).ok());
        REQUIRE(k.forecast_size() == 1);
        CHECK(k.forecast(0).forecast_value_minor() == 50000);
        CHECK(k.forecast(0).forecast_weighted_minor() == 10000);
        CHECK(k.forecast(0).actual_won_minor() == 100000);

        auto by_owner = Week();
        by_owner.mutable_filter()->set_owner_id("u2");
        REQUIRE(client.Kpis(by_owner, &k).ok());
        REQUIRE(k.pipeline_size() == 1);
        CHECK(k.pipeline(0).value_minor() == 30001);
        CHECK(k.win_rate().denominator() == 0);

        auto web = Week();
        web.mutable_filter()->set_source("web");
        REQUIRE(client.Kpis(web, &k).ok());
        CHECK(k.lead_conversion_total().numerator() == 1);
        CHECK(k.lead_conversion_total().denominator() == 2);
    }
    SECTION("time series by day and week") {
        av1::GetTimeSeriesRequest req;
        req.set_metric(av1::METRIC_DEALS_WON);
        req.set_granularity(av1::GRANULARITY_DAY);
        *req.mutable_start_time() = Ts(At(0));
        *req.mutable_end_time() = Ts(At(7));
        av1::GetTimeSeriesResponse s;
        REQUIRE(client.Series(req, &s).ok());
        REQUIRE(s.points_size() == 7);
        for (int d = 0; d < 7; ++d) {
            INFO("day " << d);
            CHECK(TimeUtil::TimestampToMicroseconds(s.points(d).bucket_start_time()) == At(d));
            CHECK(s.points(d).count() == (d == 5 ? 1 : 0));
        }
        REQUIRE(s.points(5).amounts_size() == 1);
        CHECK(s.points(5).amounts(0).currency_code() == "EUR");
        CHECK(s.points(5).amounts(0).amount_minor() == 100000);

        req.set_metric(av1::METRIC_LEADS_CREATED);
        req.set_granularity(av1::GRANULARITY_WEEK);
        *req.mutable_end_time() = Ts(At(14));
        REQUIRE(client.Series(req, &s).ok());
        REQUIRE(s.points_size() == 2);
        CHECK(s.points(0).count() == 4);
        CHECK(s.points(1).count() == 1);
    }
    SECTION("the same events delivered twice change nothing") {
        const long rows = FactRows(tenant);
        const double skipped = MetricSum("crm_kafka_skipped_total");
        Publish(messages);  // same event ids, new offsets
        REQUIRE(Eventually([&] { return MetricSum("crm_kafka_skipped_total") >= skipped + messages.size(); }));
        CHECK(Processed(tenant) == static_cast<long>(messages.size()));
        CHECK(FactRows(tenant) == rows);
        av1::GetKpisResponse again;
        REQUIRE(client.Kpis(Week(), &again).ok());
        CheckWeek(again);
        CHECK(Serialize(again) == Serialize(week));
    }
    SECTION("another tenant sees none of it") {
        AnalyticsClient other(TokenFor(UniqueTenant("an"), {"analyst"}));
        av1::GetKpisResponse k;
        REQUIRE(other.Kpis(Week(), &k).ok());
        CHECK(k.pipeline_size() == 0);
        CHECK(k.win_rate().denominator() == 0);
        CHECK(k.lead_conversion_total().denominator() == 0);
        CHECK(k.forecast_size() == 0);
    }
}

TEST_CASE("analytics: contacts and companies created through the gateway count as new today",
          "[integration][analytics]") {
    const std::string tenant = UniqueTenant("an");
    ContactsClient contacts(TokenFor(tenant, {"sales_rep"}));
    const auto start = std::chrono::system_clock::now();
    for (int i = 0; i < 3; ++i) contacts.MustCreate("Ada", "Count" + std::to_string(i));
    cv1::CreateCompanyRequest company;
    company.mutable_company()->set_name("Analytical Engines");
    REQUIRE(contacts.CreateCompany(company).ok());

    AnalyticsClient client(TokenFor(tenant, {"sales_manager"}));
    av1::GetKpisRequest req;
    const int64_t now = TimeUtil::TimestampToMicroseconds(TimeUtil::GetCurrentTime());
    const int64_t day = now / kDayMicros * kDayMicros;
    *req.mutable_start_time() = Ts(day - kDayMicros);  // yesterday and today (the test may run across midnight)
    *req.mutable_end_time() = Ts(day + kDayMicros);
    av1::GetKpisResponse k;
    REQUIRE(
        Eventually([&] { return client.Kpis(req, &k).ok() && k.new_contacts() == 3 && k.new_companies() == 1; }, 30s));
    const auto visible = std::chrono::system_clock::now();
    INFO("created -> visible in " << std::chrono::duration_cast<std::chrono::milliseconds>(visible - start).count()
                                  << " ms");
    CHECK(k.new_contacts() == 3);

    av1::GetTimeSeriesRequest series;
    series.set_metric(av1::METRIC_NEW_CONTACTS);
    series.set_granularity(av1::GRANULARITY_DAY);
    *series.mutable_start_time() = req.start_time();
    *series.mutable_end_time() = req.end_time();
    av1::GetTimeSeriesResponse s;
    REQUIRE(client.Series(series, &s).ok());
    REQUIRE(s.points_size() == 2);
    CHECK(s.points(0).count() + s.points(1).count() == 3);
}

TEST_CASE("analytics: a poison message goes to the DLQ and the events after it are applied",
          "[integration][analytics]") {
    const std::string tenant = UniqueTenant("an");
    SalesScenario scenario(tenant);
    std::vector<Message> messages = scenario.messages();
    // A message whose envelope claims an OpportunityCreated but whose payload is not one, keyed like the first
    // opportunity (same partition: the scenario's later events of that deal wait behind it).
    const Message& first_opp =
        *std::find_if(messages.begin(), messages.end(), [](const Message& m) { return m.topic == "crm.sales.v1"; });
    cc::v1::EventEnvelope poison;
    REQUIRE(poison.ParseFromString(first_opp.value));
    poison.set_event_id(cc::NewUuid());
    poison.set_aggregate_version(99);
    poison.mutable_payload()->set_value(std::string("\x0a\xff\xff\xff\xff\x0f", 6));
    const Message bad{"crm.sales.v1", first_opp.key, poison.SerializeAsString(), poison.event_id(), tenant};
    EventTap dlq("crm.sales.v1.dlq");
    std::vector<Message> with_poison{bad};
    with_poison.insert(with_poison.end(), messages.begin(), messages.end());
    Publish(with_poison);

    // Marketing consumes crm.sales.v1 as well (deal snapshots) and dead-letters the same poison under its own name:
    // the analytics consumer's entry is the one under test.
    auto dead = dlq.WaitFor(tenant, 2, 60s);
    std::erase_if(dead, [](const ReceivedEvent& e) {
        const auto consumer = e.headers.find("crm_dlq_consumer");
        return consumer == e.headers.end() || consumer->second != "crm-analytics";
    });
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].envelope.event_id() == poison.event_id());
    CHECK(dead[0].key == first_opp.key);
    REQUIRE(dead[0].headers.count("crm_dlq_error"));
    CHECK(dead[0].headers.at("crm_dlq_topic") == "crm.sales.v1");
    CHECK(dead[0].headers.at("crm_dlq_consumer") == "crm-analytics");
    REQUIRE(Eventually([&] { return Processed(tenant) == static_cast<long>(messages.size()); }));
    AnalyticsClient client(TokenFor(tenant, {"analyst"}));
    av1::GetKpisResponse k;
    REQUIRE(client.Kpis(Week(), &k).ok());
    CheckWeek(k);
}

TEST_CASE("analytics: a consumer killed mid-batch and restarted applies each event once", "[integration][analytics]") {
    const std::string tenant = UniqueTenant("an");
    constexpr int kLeads = 3000;
    std::vector<Message> messages;
    for (int i = 0; i < kLeads; ++i) {
        crm::leads::v1::Lead l;
        l.set_id(cc::NewUuid());
        l.set_source(i % 2 ? "web" : "event");
        l.set_status(crm::leads::v1::LEAD_STATUS_NEW);
        *l.mutable_create_time() = Ts(At(0, 1) + i);
        l.set_version(1);
        le::LeadCreated e;
        *e.mutable_lead() = l;
        messages.push_back(Event(tenant, "crm.leads.v1", "leads", "lead", l.id(), 1, At(0, 1) + i, e));
    }
    Publish(messages);
    long at_kill = 0;
    REQUIRE(Eventually(
        [&] {
            at_kill = Processed(tenant);
            return at_kill > 0;
        },
        60s));
    StackCommand("kill-app analytics");
    INFO("applied when killed: " << at_kill);
    CHECK(at_kill < kLeads);  // really mid-way
    StackCommand("start-apps");
    REQUIRE(Eventually([&] { return Processed(tenant) == kLeads; }, 120s));
    CHECK(Count("SELECT count(*) FROM analytics_lead_versions WHERE tenant_id = '" + tenant + "'") == kLeads);
    CHECK(Count("SELECT count(DISTINCT event_id) FROM analytics_lead_versions WHERE tenant_id = '" + tenant + "'") ==
          kLeads);
    AnalyticsClient client(TokenFor(tenant, {"analyst"}));
    av1::GetKpisResponse k;
    REQUIRE(client.Kpis(Week(), &k).ok());
    CHECK(k.lead_conversion_total().denominator() == kLeads);
}

TEST_CASE("analytics: RebuildProjections replays the log into identical read models and detects drift",
          "[integration][analytics]") {
    const auto [tenant, messages] = PublishedScenario();
    AnalyticsClient admin(TokenFor(tenant, {"admin"}));
    av1::GetKpisResponse before;
    REQUIRE(admin.Kpis(Week(), &before).ok());
    const long rows = FactRows(tenant);

    av1::RebuildProjectionsRequest check;
    check.set_scope(av1::REBUILD_SCOPE_TENANT);
    check.set_validate_only(true);
    av1::RebuildProjectionsResponse r;
    const grpc::Status st = admin.Rebuild(check, &r);
    REQUIRE(st.ok());
    CHECK(r.consistent());
    CHECK(r.tenants_rebuilt() == 1);
    REQUIRE(r.tenants_size() == 1);
    CHECK(r.tenants(0).tenant_id() == tenant);
    CHECK(r.tenants(0).events_applied() == Applied(tenant));  // the scenario's and marketing's reactions to it
    CHECK(r.tenants(0).events_applied() > static_cast<long>(messages.size()));
    CHECK_FALSE(r.tenants(0).swapped());
    CHECK(r.messages_read() >= static_cast<long>(messages.size()));

    SECTION("a swap leaves the same numbers") {
        av1::RebuildProjectionsRequest swap;
        swap.set_scope(av1::REBUILD_SCOPE_TENANT);
        REQUIRE(admin.Rebuild(swap, &r).ok());
        CHECK(r.consistent());
        CHECK(r.tenants(0).swapped());
        CHECK(FactRows(tenant) == rows);
        av1::GetKpisResponse after;
        REQUIRE(admin.Kpis(Week(), &after).ok());
        CHECK(Serialize(after) == Serialize(before));
        CheckWeek(after);
    }
    SECTION("a read model that drifted is reported, then repaired") {
        // Lose one fact behind the service's back (as a bug or a manual edit would).
        pqxx::connection admin_db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));
        pqxx::work tx(admin_db);
        tx.exec("DELETE FROM analytics_opportunity_versions WHERE tenant_id = " + tx.quote(tenant) +
                " AND status = 'WON'");
        tx.commit();
        REQUIRE(admin.Rebuild(check, &r).ok());
        CHECK_FALSE(r.consistent());
        const auto& p = r.tenants(0).projections();
        const auto opp =
            std::find_if(p.begin(), p.end(), [](const auto& x) { return x.projection() == "opportunities"; });
        REQUIRE(opp != p.end());
        CHECK(opp->only_rebuilt() == 2);  // OpportunityStageChanged and OpportunityWon of the won deal
        CHECK(opp->only_live() == 0);
        av1::GetKpisResponse drifted;
        REQUIRE(admin.Kpis(Week(), &drifted).ok());
        CHECK(drifted.win_rate().denominator() == 1);

        av1::RebuildProjectionsRequest swap;
        swap.set_scope(av1::REBUILD_SCOPE_TENANT);
        REQUIRE(admin.Rebuild(swap, &r).ok());
        CHECK(r.tenants(0).swapped());
        av1::GetKpisResponse repaired;
        REQUIRE(admin.Kpis(Week(), &repaired).ok());
        CheckWeek(repaired);
        REQUIRE(admin.Rebuild(check, &r).ok());
        CHECK(r.consistent());
    }
    SECTION("all tenants: only the platform operator's admins, other tenants rebuilt but never named") {
        const auto [other, other_messages] = PublishedScenario();
        av1::RebuildProjectionsRequest all;
        all.set_scope(av1::REBUILD_SCOPE_ALL_TENANTS);
        all.set_validate_only(true);
        // A customer's admin may not touch other tenants' read models.
        CHECK(admin.Rebuild(all, &r).error_code() == grpc::StatusCode::PERMISSION_DENIED);
        // The operator tenant of the stack (CRM_ANALYTICS_OPERATOR_TENANTS) may; it learns no tenant's id.
        AnalyticsClient operator_admin(TokenFor("platform-ops", {"admin"}));
        REQUIRE(operator_admin.Rebuild(all, &r).ok());
        CHECK(r.tenants_rebuilt() >= 2);
        for (const auto& t : r.tenants()) CHECK(t.tenant_id() == "platform-ops");
        // ...and the tenants it rebuilt (validate only) are still consistent from their own point of view.
        REQUIRE(admin.Rebuild(check, &r).ok());
        CHECK(r.consistent());
    }
}

TEST_CASE("analytics: bad input on every RPC is INVALID_ARGUMENT with field violations", "[integration][analytics]") {
    const std::string tenant = UniqueTenant("an");
    AnalyticsClient client(TokenFor(tenant, {"admin"}));
    av1::GetKpisResponse k;
    av1::GetKpisRequest kreq;
    grpc::Status st = client.Kpis(kreq, &k);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "start_time"));
    CHECK(HasViolation(st, "end_time"));

    kreq = Week();
    *kreq.mutable_end_time() = Ts(At(0));
    st = client.Kpis(kreq, &k);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "end_time"));

    kreq = Week();
    *kreq.mutable_as_of_time() = TimeUtil::GetCurrentTime();
    kreq.mutable_as_of_time()->set_seconds(kreq.as_of_time().seconds() + 86400);
    kreq.mutable_filter()->set_owner_id(std::string(201, 'x'));
    kreq.mutable_start_time()->set_nanos(-1);
    st = client.Kpis(kreq, &k);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "as_of_time"));
    CHECK(HasViolation(st, "filter.owner_id"));
    CHECK(HasViolation(st, "start_time"));

    av1::GetTimeSeriesRequest sreq;
    av1::GetTimeSeriesResponse s;
    st = client.Series(sreq, &s);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "metric"));
    CHECK(HasViolation(st, "granularity"));
    CHECK(HasViolation(st, "start_time"));

    sreq.set_metric(av1::METRIC_NEW_CONTACTS);
    sreq.set_granularity(av1::GRANULARITY_DAY);
    *sreq.mutable_start_time() = Ts(At(0));
    *sreq.mutable_end_time() = Ts(At(1001));
    st = client.Series(sreq, &s);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "end_time"));
    sreq.set_metric(static_cast<av1::Metric>(77));
    *sreq.mutable_end_time() = Ts(At(7));
    st = client.Series(sreq, &s);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "metric"));

    av1::RebuildProjectionsRequest rreq;
    av1::RebuildProjectionsResponse r;
    st = client.Rebuild(rreq, &r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "scope"));
}

TEST_CASE("analytics: roles at the gateway (analysts and sales managers read, only admins rebuild)",
          "[integration][analytics]") {
    const std::string tenant = UniqueTenant("an");
    av1::GetKpisResponse k;
    CHECK(AnalyticsClient(TokenFor(tenant, {"analyst"})).Kpis(Week(), &k).ok());
    CHECK(AnalyticsClient(TokenFor(tenant, {"sales_manager"})).Kpis(Week(), &k).ok());
    CHECK(AnalyticsClient(TokenFor(tenant, {"sales_rep"})).Kpis(Week(), &k).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
    av1::RebuildProjectionsRequest rreq;
    rreq.set_scope(av1::REBUILD_SCOPE_TENANT);
    rreq.set_validate_only(true);
    av1::RebuildProjectionsResponse r;
    CHECK(AnalyticsClient(TokenFor(tenant, {"analyst"})).Rebuild(rreq, &r).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
}

// ---------------------------------------------------------------------------------------------------------------
// The tenant cache (services/analytics/src/cache/dataset_cache.hpp): KPIs read between batches of events are brought
// up to date incrementally and must equal a cold load of the same facts; a rewrite of the facts invalidates only its
// tenant.

namespace {

// One series of crm_analytics_cache_lookups_total (result = hit, incremental, miss, invalidated).
double Lookups(const std::string& result) {
    const std::string address = RequireEnv("CRM_TEST_ANALYTICS_METRICS");
    const std::string cmd = "curl -s --max-time 5 http://" + address + "/metrics";
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) text.append(buf, n);
    pclose(pipe);
    const std::regex line("^crm_analytics_cache_lookups_total\\{[^}]*result=\"" + result + "\"[^}]*\\} ([0-9.e+]+)$");
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
        std::smatch m;
        if (std::regex_match(l, m, line)) return std::stod(m[1]);
    }
    return 0;
}

// Makes the service load the tenant whole on its next read: an UPDATE that changes nothing still rewrites the rows,
// and the statement trigger bumps the tenant's generation (as a rebuild's swap or a repair does).
void ForceColdLoad(const std::string& tenant) {
    pqxx::connection admin_db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));
    pqxx::work tx(admin_db);
    tx.exec("UPDATE analytics_lead_versions SET version = version WHERE tenant_id = " + tx.quote(tenant));
    tx.exec("UPDATE analytics_opportunity_versions SET version = version WHERE tenant_id = " + tx.quote(tenant));
    tx.commit();
}

// What the checks compare: the week, the pipeline as of a past time, two filters, and two series.
std::vector<std::string> Readings(AnalyticsClient& client) {
    std::vector<std::string> out;
    auto kpis = [&](const av1::GetKpisRequest& req) {
        av1::GetKpisResponse k;
        REQUIRE(client.Kpis(req, &k).ok());
        out.push_back(Serialize(k));
    };
    kpis(Week());
    auto as_of = Week();
    *as_of.mutable_as_of_time() = Ts(At(2, 12));
    kpis(as_of);
    auto owner = Week();
    owner.mutable_filter()->set_owner_id("u2");
    kpis(owner);
    auto web = Week();
    web.mutable_filter()->set_source("web");
    kpis(web);
    for (const auto metric : {av1::METRIC_DEALS_WON, av1::METRIC_OPEN_PIPELINE, av1::METRIC_LEADS_CONVERTED}) {
        av1::GetTimeSeriesRequest req;
        req.set_metric(metric);
        req.set_granularity(av1::GRANULARITY_DAY);
        *req.mutable_start_time() = Ts(At(0));
        *req.mutable_end_time() = Ts(At(9));
        av1::GetTimeSeriesResponse s;
        REQUIRE(client.Series(req, &s).ok());
        out.push_back(Serialize(s));
    }
    return out;
}

}  // namespace

TEST_CASE("analytics cache: events interleaved with reads give the answers of a cold load",
          "[integration][analytics][cache]") {
    const std::string tenant = UniqueTenant("ac");
    SalesScenario scenario(tenant);
    const std::vector<Message>& messages = scenario.messages();
    AnalyticsClient client(TokenFor(tenant, {"analyst"}));
    const double incremental_before = Lookups("incremental");
    const double invalidated_before = Lookups("invalidated");
    const double hits_before = Lookups("hit");

    // Published in six batches (leads and deals interleaved as the scenario made them); after each: read (the cache
    // applies what is new), then the same reads after a forced cold load, which must be identical.
    const size_t batches = 6;
    size_t published = 0;
    int cold_loads = 0;
    for (size_t b = 1; b <= batches; ++b) {
        const size_t upto = messages.size() * b / batches;
        Publish(std::vector<Message>(messages.begin() + published, messages.begin() + upto));
        published = upto;
        REQUIRE(Eventually([&] { return Processed(tenant) == static_cast<long>(published); }));
        INFO("after " << published << " of " << messages.size() << " events");
        const auto incremental = Readings(client);
        CHECK(Readings(client) == incremental);  // nothing new: served as it is
        ForceColdLoad(tenant);
        ++cold_loads;
        CHECK(Readings(client) == incremental);
    }
    av1::GetKpisResponse week;
    REQUIRE(client.Kpis(Week(), &week).ok());
    CheckWeek(week);
    // The first batch was a first read (miss); every later one was applied incrementally, each cold load was an
    // invalidation, and the repeated reads were hits.
    CHECK(Lookups("incremental") - incremental_before >= batches - 1);
    CHECK(Lookups("invalidated") - invalidated_before >= cold_loads);
    CHECK(Lookups("hit") - hits_before >= batches * 7);
}

TEST_CASE("analytics cache: a rebuild's swap and a repair invalidate the cached tenant, and only it",
          "[integration][analytics][cache]") {
    const auto [tenant, messages] = PublishedScenario();
    const auto [other, other_messages] = PublishedScenario();
    AnalyticsClient admin(TokenFor(tenant, {"admin"}));
    AnalyticsClient other_client(TokenFor(other, {"analyst"}));
    av1::GetKpisResponse k;
    REQUIRE(admin.Kpis(Week(), &k).ok());  // both cached
    CheckWeek(k);
    REQUIRE(other_client.Kpis(Week(), &k).ok());
    CheckWeek(k);

    // Lose the won deal's facts behind the service's back: the next read must see it at once.
    double invalidated = Lookups("invalidated");
    {
        pqxx::connection admin_db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));
        pqxx::work tx(admin_db);
        tx.exec("DELETE FROM analytics_opportunity_versions WHERE tenant_id = " + tx.quote(tenant) +
                " AND status = 'WON'");
        tx.commit();
    }
    REQUIRE(admin.Kpis(Week(), &k).ok());
    CHECK(k.win_rate().denominator() == 1);
    CHECK(Lookups("invalidated") == invalidated + 1);
    // The other tenant's cache is untouched.
    invalidated = Lookups("invalidated");
    const double hits = Lookups("hit");
    REQUIRE(other_client.Kpis(Week(), &k).ok());
    CheckWeek(k);
    CHECK(Lookups("invalidated") == invalidated);
    CHECK(Lookups("hit") == hits + 1);

    // The rebuild puts the facts back (delete + insert in one transaction): invalidated again, the right figures.
    av1::RebuildProjectionsRequest swap;
    swap.set_scope(av1::REBUILD_SCOPE_TENANT);
    av1::RebuildProjectionsResponse r;
    REQUIRE(admin.Rebuild(swap, &r).ok());
    REQUIRE(r.tenants_size() == 1);
    CHECK(r.tenants(0).swapped());
    REQUIRE(admin.Kpis(Week(), &k).ok());
    CheckWeek(k);
    CHECK(Lookups("invalidated") == invalidated + 1);
    // A validate-only rebuild rolls back: nothing rewritten, the cache stays.
    swap.set_validate_only(true);
    REQUIRE(admin.Rebuild(swap, &r).ok());
    CHECK(r.consistent());
    REQUIRE(admin.Kpis(Week(), &k).ok());
    CheckWeek(k);
    CHECK(Lookups("invalidated") == invalidated + 1);
}

TEST_CASE("analytics cache: two tenants with the same aggregate ids are cached apart",
          "[integration][analytics][cache]") {
    const auto [tenant, messages] = PublishedScenario();
    // The other tenant gets the same leads and deals (same aggregate ids, versions and times), as new events of its
    // own, except that every amount is doubled.
    const std::string other = UniqueTenant("ac");
    std::vector<Message> copies;
    for (const auto& m : messages) {
        cc::v1::EventEnvelope env;
        REQUIRE(env.ParseFromString(m.value));
        env.set_event_id(cc::NewUuid());
        env.set_tenant_id(other);
        // The deal events carry the tenant and the amounts in their payload too.
        const auto rewrite = [&]<class E>(E event) {
            REQUIRE(env.payload().UnpackTo(&event));
            event.set_tenant_id(other);
            auto* deal_amount = event.mutable_opportunity()->mutable_amount();
            deal_amount->set_amount_minor(deal_amount->amount_minor() * 2);
            if constexpr (requires { event.mutable_amount(); }) {
                event.mutable_amount()->set_amount_minor(event.amount().amount_minor() * 2);
            }
            env.mutable_payload()->PackFrom(event);
        };
        if (env.payload().Is<se::OpportunityCreated>()) {
            rewrite(se::OpportunityCreated());
        } else if (env.payload().Is<se::OpportunityWon>()) {
            rewrite(se::OpportunityWon());
        } else if (env.payload().Is<se::OpportunityStageChanged>()) {
            rewrite(se::OpportunityStageChanged());
        } else if (env.payload().Is<se::OpportunityLost>()) {
            rewrite(se::OpportunityLost());
        }
        copies.push_back({m.topic, m.key, env.SerializeAsString(), env.event_id(), other});
    }
    AnalyticsClient mine(TokenFor(tenant, {"analyst"}));
    AnalyticsClient theirs(TokenFor(other, {"analyst"}));
    av1::GetKpisResponse k;
    REQUIRE(mine.Kpis(Week(), &k).ok());  // cached before the other tenant's facts arrive
    CheckWeek(k);
    Publish(copies);
    REQUIRE(Eventually([&] { return Processed(other) == static_cast<long>(copies.size()); }));

    // Read alternately: each tenant sees its own figures, whatever the other's cache holds.
    for (int round = 0; round < 3; ++round) {
        REQUIRE(mine.Kpis(Week(), &k).ok());
        CheckWeek(k);
        REQUIRE(theirs.Kpis(Week(), &k).ok());
        REQUIRE(k.deal_sizes_size() == 1);
        CHECK(k.deal_sizes(0).won_value_minor() == 200000);
        REQUIRE(k.pipeline_size() == 2);
        CHECK(k.pipeline(0).value_minor() == 60002);
        CHECK(k.pipeline(1).value_minor() == 40000);
        CHECK(k.win_rate().numerator() == 1);
        CHECK(k.win_rate().denominator() == 2);
        CHECK(k.lead_conversion_total().denominator() == 4);
    }
}

// The warm-up (cache/dataset_cache.hpp): a read records its tenant; a restarted service loads the recently read
// tenants in the background, so that their first read after the start is served from the cache (a hit) with the
// same answers; a rebuild's swap loads the rebuilt tenant again in the background.
namespace {

// The warm-up after a start loaded something and crm_analytics_cache_lookups_total{result="miss"} has not moved for
// 3 s. (The tenant read last before the start is the first one warmed.)
void AwaitWarmUp() {
    double misses = -1;
    auto changed = std::chrono::steady_clock::now();
    REQUIRE(Eventually(
        [&] {
            const double now = Lookups("miss");
            if (now != misses) {
                misses = now;
                changed = std::chrono::steady_clock::now();
            }
            return misses >= 1 && std::chrono::steady_clock::now() - changed >= 3s;
        },
        120s));
}

}  // namespace

TEST_CASE("analytics cache: a restarted service warms the tenants read before, and a rebuilt one again",
          "[integration][analytics][cache]") {
    const auto [tenant, messages] = PublishedScenario();
    AnalyticsClient admin(TokenFor(tenant, {"admin"}));
    const auto before = Readings(admin);  // loads the tenant, which records the read
    CHECK(Count("SELECT count(*) FROM analytics_kpi_cache_tenants WHERE tenant_id = '" + tenant + "' AND bytes > 0") ==
          1);

    StackCommand("kill-app analytics");
    StackCommand("start-apps");
    AwaitWarmUp();
    const double misses = Lookups("miss");
    const double hits = Lookups("hit");
    CHECK(Readings(admin) == before);  // the first reads after the start: the same answers, from the warmed fold
    CHECK(Lookups("miss") == misses);
    CHECK(Lookups("hit") >= hits + 1);

    // A rebuild's swap rewrites the facts: the tenant is loaded again in the background, not by the next read.
    const double invalidated = Lookups("invalidated");
    av1::RebuildProjectionsRequest swap;
    swap.set_scope(av1::REBUILD_SCOPE_TENANT);
    av1::RebuildProjectionsResponse r;
    REQUIRE(admin.Rebuild(swap, &r).ok());
    REQUIRE(r.tenants_size() == 1);
    REQUIRE(r.tenants(0).swapped());
    REQUIRE(Eventually([&] { return Lookups("invalidated") == invalidated + 1; }));
    const double hits_after = Lookups("hit");
    CHECK(Readings(admin) == before);
    CHECK(Lookups("invalidated") == invalidated + 1);
    CHECK(Lookups("hit") >= hits_after + 1);
}
