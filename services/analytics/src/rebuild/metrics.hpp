#pragma once
// The rebuild's metrics (crm_analytics_rebuild*), registered once by the service class.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <string>

#include "crm/common/metrics.hpp"

namespace crm::analytics::rebuild {

struct RebuildMetrics {
    prometheus::Family<prometheus::Counter>& rebuilds;
    prometheus::Family<prometheus::Histogram>& rebuild_seconds;
    prometheus::Family<prometheus::Counter>& rebuild_inconsistent;
    std::string service;

    explicit RebuildMetrics(common::Metrics& m)
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

}  // namespace crm::analytics::rebuild
