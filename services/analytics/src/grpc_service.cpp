#include "grpc_service.hpp"

#include "rebuild/metrics.hpp"

namespace crm::analytics {

AnalyticsService::AnalyticsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db,
                                   rebuild::RebuildSettings rebuild_settings, cache::CacheSettings cache_settings)
    : rpc_(rpc),
      db_(db),
      rebuild_settings_(std::move(rebuild_settings)),
      rebuild_metrics_(std::make_unique<rebuild::RebuildMetrics>(metrics)),
      cache_(db, metrics, cache_settings) {}

AnalyticsService::~AnalyticsService() = default;

}  // namespace crm::analytics
