// GetKpis and GetTimeSeries: request checks, the tenant's folded facts from the cache (cache/dataset_cache.hpp) and the
// KPI math of domain/kpis.hpp.
#include <algorithm>
#include <chrono>

#include "crm/common/errors.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/kpis.hpp"
#include "grpc_service.hpp"
#include "kpis/request.hpp"
#include "projection/proto_time.hpp"

namespace crm::analytics {
namespace {

using common::RequestContext;
using domain::Micros;
using grpc::ServerContext;
using grpc::Status;
using projection::ToMicros;
using projection::ToTimestamp;
using namespace request;

}  // namespace

Status AnalyticsService::GetKpis(ServerContext* sc, const v1::GetKpisRequest* req, v1::GetKpisResponse* resp) {
    return rpc_.Handle(sc, "GetKpis", [&](const RequestContext& rc) {
        Checks checks;
        const domain::Period period =
            checks.Period(req->has_start_time(), req->start_time(), req->has_end_time(), req->end_time());
        const domain::Filter filter = checks.Filter(req->filter());
        const Micros now = Now();
        const Micros as_of = AsOf(checks, req->has_as_of_time(), req->as_of_time(), period.end, now);
        checks.ThrowIfAny();
        const std::shared_ptr<const domain::Dataset> data = cache_.Get(rc);
        const domain::Kpis k = domain::ComputeKpis(*data, period, as_of, now, filter);

        *resp->mutable_start_time() = req->start_time();
        *resp->mutable_end_time() = req->end_time();
        *resp->mutable_as_of_time() = ToTimestamp(k.as_of);
        for (const auto& p : k.pipeline) {
            auto* out = resp->add_pipeline();
            out->set_pipeline_id(p.pipeline_id);
            out->set_stage_id(p.stage_id);
            out->set_stage_name(p.stage_name);
            out->set_currency_code(p.currency_code);
            out->set_count(p.count);
            out->set_value_minor(p.value_minor);
            out->set_weighted_value_minor(p.weighted_value_minor);
        }
        *resp->mutable_win_rate() = ToProto(k.win_rate);
        for (const auto& d : k.deal_sizes) {
            auto* out = resp->add_deal_sizes();
            out->set_currency_code(d.currency_code);
            out->set_won_count(d.won_count);
            out->set_won_value_minor(d.won_value_minor);
            out->set_average_minor(d.average_minor);
        }
        resp->set_sales_cycle_won_count(k.sales_cycle_won_count);
        resp->set_sales_cycle_total_seconds(k.sales_cycle_total_seconds);
        resp->set_sales_cycle_average_seconds(k.sales_cycle_average_seconds);
        for (const auto& s : k.time_in_stage) {
            auto* out = resp->add_time_in_stage();
            out->set_pipeline_id(s.pipeline_id);
            out->set_stage_id(s.stage_id);
            out->set_stage_name(s.stage_name);
            out->set_exits(s.exits);
            out->set_total_seconds(s.total_seconds);
            out->set_average_seconds(s.average_seconds);
        }
        for (const auto& l : k.lead_conversion) {
            auto* out = resp->add_lead_conversion();
            out->set_source(l.source);
            out->set_campaign_id(l.campaign_id);
            *out->mutable_conversion() = ToProto(l.conversion);
        }
        *resp->mutable_lead_conversion_total() = ToProto(k.lead_conversion_total);
        resp->set_lead_responses(k.lead_responses);
        resp->set_lead_response_total_seconds(k.lead_response_total_seconds);
        resp->set_lead_response_average_seconds(k.lead_response_average_seconds);
        *resp->mutable_lead_sla_attainment() = ToProto(k.lead_sla_attainment);
        resp->set_new_contacts(k.new_contacts);
        resp->set_new_companies(k.new_companies);
        for (const auto& f : k.forecast) {
            auto* out = resp->add_forecast();
            out->set_currency_code(f.currency_code);
            out->set_forecast_weighted_minor(f.forecast_weighted_minor);
            out->set_forecast_value_minor(f.forecast_value_minor);
            out->set_actual_won_minor(f.actual_won_minor);
        }
    });
}

Status AnalyticsService::GetTimeSeries(ServerContext* sc, const v1::GetTimeSeriesRequest* req,
                                       v1::GetTimeSeriesResponse* resp) {
    return rpc_.Handle(sc, "GetTimeSeries", [&](const RequestContext& rc) {
        Checks checks;
        std::optional<domain::Metric> metric;
        switch (req->metric()) {
            case v1::METRIC_NEW_CONTACTS:
                metric = domain::Metric::kNewContacts;
                break;
            case v1::METRIC_NEW_COMPANIES:
                metric = domain::Metric::kNewCompanies;
                break;
            case v1::METRIC_LEADS_CREATED:
                metric = domain::Metric::kLeadsCreated;
                break;
            case v1::METRIC_LEADS_CONVERTED:
                metric = domain::Metric::kLeadsConverted;
                break;
            case v1::METRIC_DEALS_WON:
                metric = domain::Metric::kDealsWon;
                break;
            case v1::METRIC_DEALS_LOST:
                metric = domain::Metric::kDealsLost;
                break;
            case v1::METRIC_OPEN_PIPELINE:
                metric = domain::Metric::kOpenPipeline;
                break;
            default:
                checks.Add("metric", "must be one of the METRIC_* values other than METRIC_UNSPECIFIED");
        }
        std::optional<domain::Granularity> granularity;
        switch (req->granularity()) {
            case v1::GRANULARITY_DAY:
                granularity = domain::Granularity::kDay;
                break;
            case v1::GRANULARITY_WEEK:
                granularity = domain::Granularity::kWeek;
                break;
            case v1::GRANULARITY_MONTH:
                granularity = domain::Granularity::kMonth;
                break;
            default:
                checks.Add("granularity", "must be GRANULARITY_DAY, GRANULARITY_WEEK or GRANULARITY_MONTH");
        }
        const domain::Period period =
            checks.Period(req->has_start_time(), req->start_time(), req->has_end_time(), req->end_time());
        const domain::Filter filter = checks.Filter(req->filter());
        if (checks.empty() && granularity) {
            // Counted without building the list: a day granularity over 3,660 days would be long.
            size_t n = 0;
            for (Micros b = domain::BucketStart(*granularity, period.start); b < period.end && n <= kMaxBuckets;
                 b = domain::NextBucket(*granularity, b)) {
                ++n;
            }
            if (n > kMaxBuckets) checks.Add("end_time", "the period spans more than 1000 buckets");
        }
        checks.ThrowIfAny();
        const std::shared_ptr<const domain::Dataset> data = cache_.Get(rc);
        resp->set_metric(req->metric());
        resp->set_granularity(req->granularity());
        for (const auto& p : domain::ComputeSeries(*data, *metric, *granularity, period, Now(), filter)) {
            auto* out = resp->add_points();
            *out->mutable_bucket_start_time() = ToTimestamp(p.bucket_start);
            out->set_count(p.count);
            for (const auto& [currency, amount] : p.amounts) {
                auto* m = out->add_amounts();
                m->set_currency_code(currency);
                m->set_amount_minor(amount);
            }
        }
    });
}

}  // namespace crm::analytics
