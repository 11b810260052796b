// The parts of MarketingService that no single area owns: the service's metrics.
#include "grpc_service.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"

namespace crm::marketing {

MarketingMetrics::MarketingMetrics(common::Metrics& m)
    : campaigns_created(&prometheus::BuildCounter()
                             .Name("crm_marketing_campaigns_created_total")
                             .Help("Campaigns created (retries with the same request_id not counted twice).")
                             .Register(m.registry())
                             .Add({})) {}

void MarketingService::RefusePublic(const common::RequestContext& rc) {
    if (std::find(rc.roles.begin(), rc.roles.end(), "public") != rc.roles.end()) {
        throw common::ApiError::PermissionDenied("a public link does not open this method");
    }
}

}  // namespace crm::marketing
