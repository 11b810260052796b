#pragma once
// The SLA scheduler: a thread of the service that looks for passed first-touch deadlines every interval and breaches
// them (sla::Sla), and runs the service's hourly upkeep. Safe with any number of replicas (see Sla::Breach).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "crm/common/scheduler.hpp"

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
}

namespace crm::leads::sla {

class Sla;

class SlaScheduler {
  public:
    // hourly_upkeep: run at start and then hourly (returns the rows it removed, for the log).
    SlaScheduler(std::shared_ptr<Sla> sla, common::Metrics& metrics, std::chrono::milliseconds interval,
                 std::function<std::int64_t()> hourly_upkeep);
    ~SlaScheduler();

    void Start();
    // Finishes the scan in progress and stops. Idempotent.
    void Stop();

  private:
    void Upkeep();
    void Scan();

    static constexpr std::chrono::hours kUpkeepInterval{1};
    static constexpr int kBatch = 200;

    std::shared_ptr<Sla> sla_;
    std::chrono::milliseconds interval_;
    std::function<std::int64_t()> hourly_upkeep_;
    prometheus::Counter& breaches_;
    prometheus::Counter& scan_errors_;
    common::Scheduler runner_;  // last: its thread uses the members above
};

}  // namespace crm::leads::sla
