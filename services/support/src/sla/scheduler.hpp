#pragma once
// The SLA scheduler: every replica runs one. Each interval it reads the due warnings and breaches across tenants and
// fires each (sla::Sla::Fire), which happens once per timer and stage whatever the number of replicas (the case's row
// is taken with FOR UPDATE SKIP LOCKED and the timer marked only while still unmarked).
#include <chrono>
#include <memory>

#include "crm/common/scheduler.hpp"

namespace prometheus {
class Counter;
template <class T>
class Family;
}  // namespace prometheus

namespace crm::common {
class Metrics;
}

namespace crm::support::sla {

class Sla;

class SlaScheduler {
  public:
    SlaScheduler(std::shared_ptr<Sla> sla, common::Metrics& metrics, std::chrono::milliseconds interval);
    ~SlaScheduler();
    void Start();
    void Stop();  // idempotent

  private:
    void Scan();
    static constexpr int kBatch = 200;
    std::shared_ptr<Sla> sla_;
    std::chrono::milliseconds interval_;
    prometheus::Counter& warnings_;
    prometheus::Counter& breaches_;
    prometheus::Family<prometheus::Counter>& escalations_;
    prometheus::Counter& scan_errors_;
    common::Scheduler runner_;  // last: its thread uses the members above
};

}  // namespace crm::support::sla
