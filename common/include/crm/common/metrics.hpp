#pragma once
// Prometheus metrics shared by every process: one registry, one exposer (GET /metrics), the standard RPC, database
// and outbox families. Names follow Prometheus conventions: crm_ prefix, base units, _total counters.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
}

namespace crm::common {

class Metrics {
    // Declared first: the families below are registered in it during construction.
    std::string service_;
    std::shared_ptr<prometheus::Registry> registry_;

  public:
    explicit Metrics(std::string service);
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // Starts serving /metrics on host:port. Throws std::runtime_error when the port cannot be bound.
    void Expose(const std::string& listen);

    const std::string& service() const { return service_; }
    prometheus::Registry& registry() { return *registry_; }
    std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

    // Buckets for request latencies, from 0.25 ms to 10 s.
    static prometheus::Histogram::BucketBoundaries LatencyBuckets();

    // Standard families.
    prometheus::Family<prometheus::Counter>& rpc_handled;         // crm_grpc_server_handled_total{service,method,code}
    prometheus::Family<prometheus::Histogram>& rpc_seconds;       // crm_grpc_server_handling_seconds{service,method}
    prometheus::Family<prometheus::Histogram>& db_query_seconds;  // crm_db_query_duration_seconds{service,query}
    prometheus::Family<prometheus::Counter>& db_errors;           // crm_db_errors_total{service,kind}

  private:
    std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace crm::common
