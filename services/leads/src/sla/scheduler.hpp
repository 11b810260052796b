#pragma once
// The SLA scheduler: a thread of the service that looks for passed first-touch deadlines every interval and breaches
// them (sla::Sla), and runs the service's hourly upkeep. Safe with any number of replicas (see Sla::Breach).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

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
    void Loop();
    void Scan();

    static constexpr std::chrono::hours kUpkeepInterval{1};
    static constexpr int kBatch = 200;

    std::shared_ptr<Sla> sla_;
    std::chrono::milliseconds interval_;
    std::function<std::int64_t()> hourly_upkeep_;
    std::chrono::steady_clock::time_point last_upkeep_ = std::chrono::steady_clock::now() - kUpkeepInterval;
    prometheus::Counter& breaches_;
    prometheus::Counter& scan_errors_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace crm::leads::sla
