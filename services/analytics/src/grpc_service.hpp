#pragma once
// The class implementing crm.analytics.v1.AnalyticsService. One class, one definition file per area: kpis/handlers.cpp
// (GetKpis, GetTimeSeries), support_kpis/handlers.cpp (GetSupportKpis), field_kpis/handlers.cpp (GetFieldKpis),
// campaign_kpis/handlers.cpp (GetCampaignKpis) and
// rebuild/handlers.cpp (RebuildProjections). Includes the generated gRPC header: only for those handler files and
// grpc_service.cpp.
#include <crm/analytics/v1/analytics.grpc.pb.h>

#include <memory>

#include "cache/dataset_cache.hpp"
#include "rebuild/rebuild.hpp"

namespace crm::common {
class Db;
class Metrics;
class RpcRuntime;
}  // namespace crm::common

namespace crm::analytics {
namespace rebuild {
struct RebuildMetrics;
}

namespace v1 = crm::analytics::v1;

class AnalyticsService final : public v1::AnalyticsService::Service {
  public:
    AnalyticsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db,
                     rebuild::RebuildSettings rebuild_settings, cache::CacheSettings cache_settings);
    ~AnalyticsService() override;

    grpc::Status GetKpis(grpc::ServerContext* sc, const v1::GetKpisRequest* req, v1::GetKpisResponse* resp) override;
    grpc::Status GetTimeSeries(grpc::ServerContext* sc, const v1::GetTimeSeriesRequest* req,
                               v1::GetTimeSeriesResponse* resp) override;
    grpc::Status GetSupportKpis(grpc::ServerContext* sc, const v1::GetSupportKpisRequest* req,
                                v1::GetSupportKpisResponse* resp) override;
    grpc::Status GetFieldKpis(grpc::ServerContext* sc, const v1::GetFieldKpisRequest* req,
                              v1::GetFieldKpisResponse* resp) override;
    grpc::Status GetCampaignKpis(grpc::ServerContext* sc, const v1::GetCampaignKpisRequest* req,
                                 v1::GetCampaignKpisResponse* resp) override;
    grpc::Status RebuildProjections(grpc::ServerContext* sc, const v1::RebuildProjectionsRequest* req,
                                    v1::RebuildProjectionsResponse* resp) override;

    // Loads the recently read tenants into the KPI cache in the background (cache::DatasetCache::WarmRecent).
    void WarmCache() { cache_.WarmRecent(); }

  private:
    common::RpcRuntime& rpc_;
    common::Db& db_;
    rebuild::RebuildSettings rebuild_settings_;
    std::unique_ptr<rebuild::RebuildMetrics> rebuild_metrics_;
    cache::DatasetCache cache_;
};

}  // namespace crm::analytics
