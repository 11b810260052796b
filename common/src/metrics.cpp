#include "crm/common/metrics.hpp"

#include <prometheus/exposer.h>

namespace crm::common {

Metrics::Metrics(std::string service)
    : service_(std::move(service)),
      registry_(std::make_shared<prometheus::Registry>()),
      rpc_handled(prometheus::BuildCounter()
                      .Name("crm_grpc_server_handled_total")
                      .Help("RPCs completed on the server, by method and gRPC status code.")
                      .Register(*registry_)),
      rpc_seconds(prometheus::BuildHistogram()
                      .Name("crm_grpc_server_handling_seconds")
                      .Help("Time to handle an RPC on the server, by method.")
                      .Register(*registry_)),
      db_query_seconds(prometheus::BuildHistogram()
                           .Name("crm_db_query_duration_seconds")
                           .Help("Duration of database queries, by named query.")
                           .Register(*registry_)),
      db_errors(prometheus::BuildCounter()
                    .Name("crm_db_errors_total")
                    .Help("Database errors by kind (connection, timeout, conflict, other).")
                    .Register(*registry_)) {}

Metrics::~Metrics() = default;

void Metrics::Expose(const std::string& listen) {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
    exposer_->RegisterCollectable(registry_);
}

prometheus::Histogram::BucketBoundaries Metrics::LatencyBuckets() {
    return {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace crm::common
