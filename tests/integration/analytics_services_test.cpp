// The analytics KPIs from a scenario driven through the public APIs of the real leads, sales and contacts services
// (through the gateway): leads from two sources, touched, qualified and converted (one with an opportunity), deals
// moved, won and lost. The services stamp their own clocks, so the expected figures are computed by hand from
// counts, exact amounts and the times the services returned in their responses.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/leads/v1/leads.grpc.pb.h>
#include <crm/sales/v1/sales.grpc.pb.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <thread>

#include "../support/harness.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace av1 = crm::analytics::v1;
namespace lv1 = crm::leads::v1;
namespace sv1 = crm::sales::v1;
using google::protobuf::util::TimeUtil;

namespace {

int64_t Micros(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToMicroseconds(t); }

// Rounded half away from zero, as the service rounds (values here are positive).
int64_t RoundedSeconds(int64_t micros) { return (micros + 500000) / 1000000; }

class Api {
  public:
    explicit Api(const std::string& tenant)
        : token_(TokenFor(tenant, {"admin"})),
          leads_(lv1::LeadsService::NewStub(GatewayChannel())),
          sales_(sv1::SalesService::NewStub(GatewayChannel())),
          analytics_(av1::AnalyticsService::NewStub(GatewayChannel())) {}

#define CRM_CALL(stub, Name, ns)                                             \
    ns::Name##Response Name(const ns::Name##Request& req) {                  \
        ns::Name##Response resp;                                             \
        grpc::ClientContext ctx;                                             \
        Prepare(ctx, token_);                                                \
        const grpc::Status st = stub->Name(&ctx, req, &resp);                \
        INFO(#Name << ": " << st.error_code() << " " << st.error_message()); \
        REQUIRE(st.ok());                                                    \
        return resp;                                                         \
    }
    CRM_CALL(leads_, CreateLead, lv1)
    CRM_CALL(leads_, GetLead, lv1)
    CRM_CALL(leads_, ChangeLeadStatus, lv1)
    CRM_CALL(leads_, ConvertLead, lv1)
    CRM_CALL(sales_, GetDefaultPipeline, sv1)
    CRM_CALL(sales_, CreateOpportunity, sv1)
    CRM_CALL(sales_, GetOpportunity, sv1)
    CRM_CALL(sales_, MoveOpportunityStage, sv1)
    CRM_CALL(sales_, WinOpportunity, sv1)
    CRM_CALL(sales_, LoseOpportunity, sv1)
#undef CRM_CALL

    grpc::Status Kpis(const av1::GetKpisRequest& req, av1::GetKpisResponse* resp) {
        grpc::ClientContext ctx;
        Prepare(ctx, token_);
        return analytics_->GetKpis(&ctx, req, resp);
    }

  private:
    std::string token_;
    std::unique_ptr<lv1::LeadsService::Stub> leads_;
    std::unique_ptr<sv1::SalesService::Stub> sales_;
    std::unique_ptr<av1::AnalyticsService::Stub> analytics_;
};

lv1::Lead NewLead(Api& api, const std::string& source, const std::string& campaign, int n) {
    lv1::CreateLeadRequest req;
    req.mutable_lead()->set_given_name("Lead");
    req.mutable_lead()->set_family_name(source + std::to_string(n));
    req.mutable_lead()->set_email(source + std::to_string(n) + "." + crm::common::NewUuid().substr(0, 8) +
                                  "@example.com");
    req.mutable_lead()->set_source(source);
    req.mutable_lead()->set_campaign_id(campaign);
    return api.CreateLead(req).lead();
}

lv1::Lead SetStatus(Api& api, const lv1::Lead& lead, lv1::LeadStatus status) {
    lv1::ChangeLeadStatusRequest req;
    req.set_id(lead.id());
    req.set_status(status);
    return api.ChangeLeadStatus(req).lead();
}

}  // namespace

TEST_CASE("analytics: a scenario through the leads, sales and contacts APIs gives the KPIs computed by hand",
          "[integration][analytics]") {
    const std::string tenant = UniqueTenant("ans");
    Api api(tenant);
    const auto start = TimeUtil::GetCurrentTime();

    // Leads from two sources; one of each is touched, qualified and converted (the web one with an opportunity).
    const std::string campaign = crm::common::NewUuid();  // campaign ids are UUIDs (sales checks it)
    const lv1::Lead w1 = NewLead(api, "web", campaign, 1);
    const lv1::Lead w2 = NewLead(api, "web", campaign, 2);
    const lv1::Lead e1 = NewLead(api, "event", "", 1);
    const lv1::Lead e2 = NewLead(api, "event", "", 2);
    for (const auto* lead : {&w1, &e1}) {
        SetStatus(api, *lead, lv1::LEAD_STATUS_WORKING);
        SetStatus(api, *lead, lv1::LEAD_STATUS_QUALIFIED);
    }
    lv1::ConvertLeadRequest convert_w1;
    convert_w1.set_id(w1.id());
    convert_w1.set_create_opportunity(true);
    convert_w1.set_skip_company(true);
    convert_w1.mutable_opportunity()->set_name("From the web");
    convert_w1.mutable_opportunity()->mutable_amount()->set_amount_minor(100000);
    convert_w1.mutable_opportunity()->mutable_amount()->set_currency_code("EUR");
    const lv1::ConvertLeadResponse converted_w1 = api.ConvertLead(convert_w1);
    REQUIRE_FALSE(converted_w1.conversion().opportunity_id().empty());
    lv1::ConvertLeadRequest convert_e1;
    convert_e1.set_id(e1.id());
    convert_e1.set_skip_company(true);
    api.ConvertLead(convert_e1);

    // Deals: A (from the web lead) moves a stage and is won; B is lost; C stays open.
    const sv1::Pipeline pipeline = api.GetDefaultPipeline({}).pipeline();
    std::vector<sv1::Stage> open_stages;
    for (const auto& s : pipeline.stages()) {
        if (s.forecast_category() != sv1::FORECAST_CATEGORY_CLOSED_WON &&
            s.forecast_category() != sv1::FORECAST_CATEGORY_CLOSED_LOST) {
            open_stages.push_back(s);
        }
    }
    REQUIRE(open_stages.size() >= 2);
    sv1::GetOpportunityRequest get_a;
    get_a.set_id(converted_w1.conversion().opportunity_id());
    const sv1::Opportunity a0 = api.GetOpportunity(get_a).opportunity();
    CHECK(a0.lead_id() == w1.id());
    auto create = [&](int64_t amount, const char* currency) {
        sv1::CreateOpportunityRequest req;
        req.mutable_opportunity()->set_name("Direct");
        req.mutable_opportunity()->mutable_amount()->set_amount_minor(amount);
        req.mutable_opportunity()->mutable_amount()->set_currency_code(currency);
        return api.CreateOpportunity(req).opportunity();
    };
    const sv1::Opportunity b0 = create(50000, "EUR");
    const sv1::Opportunity c = create(20000, "USD");
    const std::string next_stage = open_stages[1].id() == a0.stage_id() ? open_stages[0].id() : open_stages[1].id();
    sv1::MoveOpportunityStageRequest move;
    move.set_id(a0.id());
    move.set_stage_id(next_stage);
    api.MoveOpportunityStage(move);
    sv1::WinOpportunityRequest win;
    win.set_id(a0.id());
    const sv1::Opportunity a = api.WinOpportunity(win).opportunity();
    sv1::LoseOpportunityRequest lose;
    lose.set_id(b0.id());
    lose.set_reason("budget");
    api.LoseOpportunity(lose);

    // The leads as the service has them now (first touch, deadline).
    std::vector<lv1::Lead> leads;
    for (const auto* l : {&w1, &w2, &e1, &e2}) {
        lv1::GetLeadRequest req;
        req.set_id(l->id());
        leads.push_back(api.GetLead(req).lead());
    }

    av1::GetKpisRequest req;
    *req.mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(Micros(start) - 86400LL * 1000000);
    *req.mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(Micros(start) + 86400LL * 1000000);
    av1::GetKpisResponse k;
    REQUIRE(Eventually([&] {
        return api.Kpis(req, &k).ok() && k.win_rate().denominator() == 2 &&
               k.lead_conversion_total().numerator() == 2 && k.pipeline_size() == 1 && k.new_contacts() == 2;
    }));
    const int64_t now = Micros(TimeUtil::GetCurrentTime());

    // Leads: web/cw 1 of 2 converted, event 1 of 2.
    REQUIRE(k.lead_conversion_size() == 2);
    CHECK(k.lead_conversion(0).source() == "event");
    CHECK(k.lead_conversion(0).conversion().numerator() == 1);
    CHECK(k.lead_conversion(0).conversion().denominator() == 2);
    CHECK(k.lead_conversion(1).source() == "web");
    CHECK(k.lead_conversion(1).campaign_id() == campaign);
    CHECK(k.lead_conversion(1).conversion().numerator() == 1);
    CHECK(k.lead_conversion(1).conversion().denominator() == 2);
    CHECK(k.lead_conversion_total().denominator() == 4);
    // Response time and SLA from the service's own times.
    int64_t responses = 0, response_micros = 0, sla_met = 0, sla_counted = 0;
    for (const auto& l : leads) {
        const bool touched = l.has_first_touch_time();
        if (touched) {
            ++responses;
            response_micros += Micros(l.first_touch_time()) - Micros(l.create_time());
        }
        if (l.has_first_touch_deadline()) {
            if (touched) {
                ++sla_counted;
                sla_met += Micros(l.first_touch_time()) <= Micros(l.first_touch_deadline());
            } else if (Micros(l.first_touch_deadline()) <= now) {
                ++sla_counted;
            }
        }
    }
    CHECK(responses == 2);  // W1 and E1 left NEW
    CHECK(k.lead_responses() == responses);
    CHECK(k.lead_response_total_seconds() == RoundedSeconds(response_micros));
    CHECK(k.lead_sla_attainment().numerator() == sla_met);
    CHECK(k.lead_sla_attainment().denominator() == sla_counted);
    // Two contacts came from the conversions.
    CHECK(k.new_contacts() == 2);

    // Deals: A won, B lost; A's cycle from the service's create and close times.
    CHECK(k.win_rate().numerator() == 1);
    REQUIRE(k.deal_sizes_size() == 1);
    CHECK(k.deal_sizes(0).currency_code() == "EUR");
    CHECK(k.deal_sizes(0).won_count() == 1);
    CHECK(k.deal_sizes(0).won_value_minor() == 100000);
    CHECK(k.sales_cycle_won_count() == 1);
    CHECK(k.sales_cycle_total_seconds() == RoundedSeconds(Micros(a.close_time()) - Micros(a.create_time())));
    // Pipeline: C, open, in its stage with its probability.
    REQUIRE(k.pipeline_size() == 1);
    CHECK(k.pipeline(0).pipeline_id() == c.pipeline_id());
    CHECK(k.pipeline(0).stage_id() == c.stage_id());
    CHECK(k.pipeline(0).currency_code() == "USD");
    CHECK(k.pipeline(0).count() == 1);
    CHECK(k.pipeline(0).value_minor() == 20000);
    CHECK(k.pipeline(0).weighted_value_minor() == (20000 * c.probability() + 50) / 100);
    // Time in stage: A left its first stage and the next one, B its first stage.
    int64_t exits = 0;
    for (const auto& s : k.time_in_stage()) exits += s.exits();
    CHECK(exits == 3);

    // The won deal is attributed to the web lead it came from.
    auto web = req;
    web.mutable_filter()->set_source("web");
    av1::GetKpisResponse w;
    REQUIRE(api.Kpis(web, &w).ok());
    CHECK(w.win_rate().numerator() == 1);
    CHECK(w.win_rate().denominator() == 1);
    CHECK(w.pipeline_size() == 0);
    CHECK(w.lead_conversion_total().denominator() == 2);
}
