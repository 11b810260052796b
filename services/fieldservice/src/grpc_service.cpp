// The parts of FieldService that no single area owns: construction, the service's metrics, update masks, the caller.
#include "grpc_service.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/paging.hpp"
#include "records.hpp"

namespace crm::fieldservice {
namespace {

prometheus::Family<prometheus::Counter>& Family(common::Metrics& m, const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(m.registry());
}

prometheus::Family<prometheus::Counter>& SyncFamily(common::Metrics& m) {
    return Family(m, "crm_fieldservice_sync_operations_total", "Offline operations of SyncTechnicianDay, by outcome.");
}

}  // namespace

Actor ActorOf(const common::RequestContext& rc) {
    const bool sees_all = rc.HasRole("admin") || rc.HasRole("dispatcher") || rc.HasRole("support_manager");
    return Actor{!sees_all && rc.HasRole("technician"), rc.user_id};
}

FieldServiceMetrics::FieldServiceMetrics(common::Metrics& m)
    : bookings(Family(m, "crm_fieldservice_bookings_total", "Appointments booked, by outcome.")
                   .Add({{"outcome", "booked"}})),
      booking_conflicts(Family(m, "crm_fieldservice_bookings_total", "Appointments booked, by outcome.")
                            .Add({{"outcome", "technician_busy"}})),
      completions(Family(m, "crm_fieldservice_work_orders_completed_total", "Work orders completed.").Add({})),
      reorder_alerts(Family(m, "crm_fieldservice_reorder_alerts_total",
                            "StockBelowReorderPoint events written (available stock fell below the reorder point).")
                         .Add({})),
      sync_applied(SyncFamily(m).Add({{"outcome", "applied"}})),
      sync_conflicts(SyncFamily(m).Add({{"outcome", "conflict"}})),
      sync_duplicates(SyncFamily(m).Add({{"outcome", "duplicate"}})),
      sync_rejected(SyncFamily(m).Add({{"outcome", "rejected"}})) {}

FieldService::FieldService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db, common::Outbox& outbox,
                           scheduling::Settings scheduling, technicians::LocationSettings locations)
    : rpc_(rpc),
      db_(db),
      outbox_(outbox),
      scheduling_(std::move(scheduling)),
      locations_(locations),
      metrics_(metrics) {}

std::vector<std::string> FieldService::UpdatePaths(common::Violations& v, const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& allowed,
                                                   const std::function<bool(const std::string&)>& is_set) {
    return common::ResolveUpdatePaths(v, {mask.paths().begin(), mask.paths().end()}, allowed, is_set);
}

bool FieldService::Has(const std::vector<std::string>& paths, const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace crm::fieldservice
