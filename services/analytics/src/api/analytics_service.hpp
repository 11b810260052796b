#pragma once
// The crm.analytics.v1.AnalyticsService gRPC handlers: request validation, the tenant's folded facts (from the
// cache, cache/dataset_cache.hpp), the KPI math of domain/kpis.hpp, and RebuildProjections (rebuild/rebuild.hpp).
// Errors leave as ApiError through the RPC boundary.
#include <memory>

#include "cache/dataset_cache.hpp"
#include "rebuild/rebuild.hpp"

namespace grpc {
class Service;
}

namespace crm::common {
class Db;
class Metrics;
class RpcRuntime;
}  // namespace crm::common

namespace crm::analytics::api {

std::shared_ptr<grpc::Service> MakeAnalyticsService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db,
                                                    rebuild::RebuildSettings rebuild_settings,
                                                    cache::CacheSettings cache_settings);

}  // namespace crm::analytics::api
