#pragma once
// Background work of the sales service: publishes ActivityDue when an activity's reminder time passes, and takes the
// scheduled forecast snapshots. Safe with several replicas: reminders are claimed row by row with FOR UPDATE SKIP
// LOCKED and marked in the transaction that writes the event (so each is published exactly once per arming), and a
// tenant's snapshots are taken under a transaction-scoped advisory lock after checking the last one's age.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
}

namespace crm::sales::storage {
class Repository;
}

namespace crm::sales {

struct SchedulerSettings {
    std::chrono::milliseconds reminder_poll{1000};
    int reminder_batch = 500;
    std::chrono::seconds snapshot_check{15};
    long snapshot_interval_seconds = 86400;
};

class Scheduler {
  public:
    Scheduler(SchedulerSettings settings, std::shared_ptr<storage::Repository> repository, common::Metrics& metrics);
    ~Scheduler();
    void Start();
    void Stop();  // idempotent; waits for the round in progress

  private:
    void Loop();
    SchedulerSettings settings_;
    std::shared_ptr<storage::Repository> repository_;
    prometheus::Counter& reminders_;
    prometheus::Counter& snapshots_;
    prometheus::Counter& failures_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace crm::sales
