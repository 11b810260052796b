#pragma once
// The crm.analytics.v1.AnalyticsService gRPC handlers: request validation, loading a tenant's facts, the KPI math of
// domain/kpis.hpp, and RebuildProjections (rebuild/rebuild.hpp). Errors leave as ApiError through the RPC boundary.
#include <memory>

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
                                                    rebuild::RebuildSettings rebuild_settings);

}  // namespace crm::analytics::api
