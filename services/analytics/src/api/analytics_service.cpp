#include "api/analytics_service.hpp"

#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <chrono>

#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/rpc.hpp"
#include "domain/kpis.hpp"
#include "events/proto_time.hpp"

namespace crm::analytics::api {

namespace {

namespace v1 = crm::analytics::v1;
using common::ApiError;
using common::RequestContext;
using domain::Micros;
using events::ToMicros;
using events::ToTimestamp;
using grpc::ServerContext;
using grpc::Status;

constexpr size_t kMaxFilterLength = 200;
constexpr Micros kMaxPeriod = 3660 * domain::kMicrosPerDay;
constexpr size_t kMaxBuckets = 1000;
constexpr Micros kClockSkew = 5 * domain::kMicrosPerSecond;

Micros Now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool ValidTimestamp(const google::protobuf::Timestamp& t) {
    // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as google.protobuf.Timestamp defines it.
    return t.seconds() >= -62135596800 && t.seconds() <= 253402300799 && t.nanos() >= 0 && t.nanos() <= 999999999;
}

class Checks {
  public:
    domain::Period Period(bool has_start, const google::protobuf::Timestamp& start, bool has_end,
                          const google::protobuf::Timestamp& end) {
        domain::Period p;
        bool ok = true;
        if (!has_start) {
            errors_.Add("start_time", "is required");
            ok = false;
        } else if (!ValidTimestamp(start)) {
            errors_.Add("start_time", "is not a valid timestamp");
            ok = false;
        }
        if (!has_end) {
            errors_.Add("end_time", "is required");
            ok = false;
        } else if (!ValidTimestamp(end)) {
            errors_.Add("end_time", "is not a valid timestamp");
            ok = false;
        }
        if (!ok) return p;
        p = {ToMicros(start), ToMicros(end)};
        if (p.end <= p.start) {
            errors_.Add("end_time", "must be after start_time");
        } else if (p.end - p.start > kMaxPeriod) {
            errors_.Add("end_time", "must be at most 3660 days after start_time");
        }
        return p;
    }

    domain::Filter Filter(const v1::KpiFilter& f) {
        auto check = [&](const std::string& value, const char* field) {
            if (value.size() > kMaxFilterLength) {
                errors_.Add(std::string("filter.") + field, "must be at most 200 characters");
            }
        };
        check(f.pipeline_id(), "pipeline_id");
        check(f.owner_id(), "owner_id");
        check(f.source(), "source");
        check(f.campaign_id(), "campaign_id");
        return {f.pipeline_id(), f.owner_id(), f.source(), f.campaign_id()};
    }

    void Add(const std::string& field, const std::string& description) { errors_.Add(field, description); }
    bool empty() const { return errors_.empty(); }
    void ThrowIfAny() const { errors_.ThrowIfAny(); }

  private:
    common::Violations errors_;
};

v1::Ratio ToProto(const domain::Ratio& r) {
    v1::Ratio out;
    out.set_numerator(r.numerator);
    out.set_denominator(r.denominator);
    out.set_value(r.denominator ? static_cast<double>(r.numerator) / static_cast<double>(r.denominator) : 0.0);
    return out;
}

struct ServiceMetrics {
    prometheus::Family<prometheus::Counter>& rebuilds;
    prometheus::Family<prometheus::Histogram>& rebuild_seconds;
    prometheus::Family<prometheus::Counter>& rebuild_inconsistent;
    std::string service;

    explicit ServiceMetrics(common::Metrics& m)
        : rebuilds(prometheus::BuildCounter()
                       .Name("crm_analytics_rebuilds_total")
                       .Help("Tenant read-model rebuilds, by mode (swap or validate) and result.")
                       .Register(m.registry())),
          rebuild_seconds(prometheus::BuildHistogram()
                              .Name("crm_analytics_rebuild_seconds")
                              .Help("Duration of RebuildProjections calls.")
                              .Register(m.registry())),
          rebuild_inconsistent(prometheus::BuildCounter()
                                   .Name("crm_analytics_rebuild_inconsistent_total")
                                   .Help("Tenant rebuilds whose rebuilt read models differed from the live ones.")
                                   .Register(m.registry())),
          service(m.service()) {}
};

class AnalyticsService final : public v1::AnalyticsService::Service {
  public:
    AnalyticsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db,
                     rebuild::RebuildSettings rebuild_settings, cache::CacheSettings cache_settings)
        : rpc_(rpc),
          metrics_(metrics),
          db_(db),
          rebuild_settings_(std::move(rebuild_settings)),
          cache_(db, metrics, cache_settings) {}

    Status GetKpis(ServerContext* sc, const v1::GetKpisRequest* req, v1::GetKpisResponse* resp) override {
        return rpc_.Handle(sc, "GetKpis", [&](const RequestContext& rc) {
            Checks checks;
            const domain::Period period =
                checks.Period(req->has_start_time(), req->start_time(), req->has_end_time(), req->end_time());
            const domain::Filter filter = checks.Filter(req->filter());
            const Micros now = Now();
            Micros as_of = std::min(period.end, now);
            if (req->has_as_of_time()) {
                if (!ValidTimestamp(req->as_of_time())) {
                    checks.Add("as_of_time", "is not a valid timestamp");
                } else if (ToMicros(req->as_of_time()) > now + kClockSkew) {
                    checks.Add("as_of_time", "must not be in the future");
                } else {
                    as_of = std::min(ToMicros(req->as_of_time()), now);
                }
            }
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

    Status GetTimeSeries(ServerContext* sc, const v1::GetTimeSeriesRequest* req,
                         v1::GetTimeSeriesResponse* resp) override {
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

    Status RebuildProjections(ServerContext* sc, const v1::RebuildProjectionsRequest* req,
                              v1::RebuildProjectionsResponse* resp) override {
        return rpc_.Handle(sc, "RebuildProjections", [&](const RequestContext& rc) {
            Checks checks;
            if (req->scope() != v1::REBUILD_SCOPE_TENANT && req->scope() != v1::REBUILD_SCOPE_ALL_TENANTS) {
                checks.Add("scope", "must be REBUILD_SCOPE_TENANT or REBUILD_SCOPE_ALL_TENANTS");
            }
            checks.ThrowIfAny();
            // The gateway lets only admins call this; the service checks again (defence in depth).
            if (!rc.HasRole("admin")) throw ApiError::PermissionDenied("RebuildProjections needs the admin role");
            // Rebuilding every tenant rewrites other tenants' read models: only the platform operator's tenant.
            const auto& operators = rebuild_settings_.operator_tenants;
            if (req->scope() == v1::REBUILD_SCOPE_ALL_TENANTS &&
                std::find(operators.begin(), operators.end(), rc.tenant_id) == operators.end()) {
                throw ApiError::PermissionDenied("REBUILD_SCOPE_ALL_TENANTS is for the platform operator's tenant");
            }
            const auto start = std::chrono::steady_clock::now();
            rebuild::RebuildSettings settings = rebuild_settings_;
            const auto remaining = rc.Remaining(settings.timeout);
            if (remaining.count() <= 0) throw ApiError::DeadlineExceeded("no time left for a rebuild");
            settings.timeout = remaining;
            rebuild::RebuildResult result;
            const std::string mode = req->validate_only() ? "validate" : "swap";
            try {
                result = rebuild::Rebuild(db_, settings, rc.tenant_id, req->scope() == v1::REBUILD_SCOPE_ALL_TENANTS,
                                          req->validate_only());
            } catch (const std::runtime_error& e) {
                if (dynamic_cast<const ApiError*>(&e) || dynamic_cast<const pqxx::failure*>(&e)) throw;
                // Kafka unreachable or the log not read in time; the text may name brokers, not data.
                common::log::Warn("rebuild failed", {{"tenant", rc.tenant_id}, {"error_kind", "kafka"}});
                metrics_.rebuilds.Add({{"service", metrics_.service}, {"mode", mode}, {"result", "error"}}).Increment();
                throw ApiError::Unavailable("the event log cannot be read now; try again later");
            }
            bool consistent = true;
            for (const auto& t : result.tenants) {
                consistent = consistent && t.consistent;
                metrics_.rebuilds
                    .Add({{"service", metrics_.service},
                          {"mode", mode},
                          {"result", t.consistent ? "consistent" : "inconsistent"}})
                    .Increment();
                if (!t.consistent) metrics_.rebuild_inconsistent.Add({{"service", metrics_.service}}).Increment();
                if (t.tenant_id != rc.tenant_id) continue;  // other tenants' ids are never shown
                auto* out = resp->add_tenants();
                out->set_tenant_id(t.tenant_id);
                out->set_events_applied(t.events_applied);
                out->set_events_rejected(t.events_rejected);
                out->set_consistent(t.consistent);
                out->set_swapped(t.swapped);
                for (const auto& p : t.projections) {
                    auto* pc = out->add_projections();
                    pc->set_projection(p.projection);
                    pc->set_live_rows(p.live_rows);
                    pc->set_rebuilt_rows(p.rebuilt_rows);
                    pc->set_only_live(p.only_live);
                    pc->set_only_rebuilt(p.only_rebuilt);
                }
            }
            resp->set_messages_read(result.messages_read);
            for (const auto& t : result.topics) resp->add_topics(t);
            resp->set_consistent(consistent);
            resp->set_tenants_rebuilt(static_cast<int64_t>(result.tenants.size()));
            metrics_.rebuild_seconds.Add({{"service", metrics_.service}}, common::Metrics::LatencyBuckets())
                .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        });
    }

  private:
    common::RpcRuntime& rpc_;
    ServiceMetrics metrics_;
    common::Db& db_;
    rebuild::RebuildSettings rebuild_settings_;
    cache::DatasetCache cache_;
};

}  // namespace

std::shared_ptr<grpc::Service> MakeAnalyticsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db,
                                                    rebuild::RebuildSettings rebuild_settings,
                                                    cache::CacheSettings cache_settings) {
    return std::make_shared<AnalyticsService>(rpc, metrics, db, std::move(rebuild_settings), cache_settings);
}

}  // namespace crm::analytics::api
