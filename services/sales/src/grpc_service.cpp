// The parts of SalesService that no single area owns: construction, the service's metrics, update masks, roles.
#include "grpc_service.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/paging.hpp"

namespace crm::sales {
namespace {

prometheus::Family<prometheus::Counter>& Family(common::Metrics& m, const char* name, const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(m.registry());
}

}  // namespace

SalesMetrics::SalesMetrics(common::Metrics& m)
    : won(Family(m, "crm_sales_opportunities_closed_total", "Opportunities closed, by outcome.")
              .Add({{"outcome", "won"}})),
      lost(Family(m, "crm_sales_opportunities_closed_total", "Opportunities closed, by outcome.")
               .Add({{"outcome", "lost"}})),
      stage_changes(Family(m, "crm_sales_stage_changes_total", "Opportunities moved to another open stage.").Add({})),
      quotes_needing_approval(
          Family(m, "crm_sales_quote_transitions_total", "Quote status transitions, by resulting status.")
              .Add({{"status", "needs_approval"}})),
      quotes_accepted(Family(m, "crm_sales_quote_transitions_total", "Quote status transitions, by resulting status.")
                          .Add({{"status", "accepted"}})),
      snapshots_manual(Family(m, "crm_sales_forecast_snapshots_total", "Forecast snapshots taken, by trigger.")
                           .Add({{"trigger", "manual"}})) {}

SalesService::SalesService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db, common::Outbox& outbox,
                           std::shared_ptr<const clients::ContactsClient> links)
    : rpc_(rpc), db_(db), outbox_(outbox), links_(std::move(links)), metrics_(metrics) {}

std::vector<std::string> SalesService::UpdatePaths(common::Violations& v, const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& allowed,
                                                   const std::function<bool(const std::string&)>& is_set) {
    return common::ResolveUpdatePaths(v, {mask.paths().begin(), mask.paths().end()}, allowed, is_set);
}

bool SalesService::Has(const std::vector<std::string>& paths, const char* path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

bool SalesService::IsManager(const common::RequestContext& rc) {
    return rc.HasRole("sales_manager") || rc.HasRole("admin");
}

}  // namespace crm::sales
