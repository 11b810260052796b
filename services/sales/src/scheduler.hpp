#pragma once
// Runs the service's periodic jobs on one background thread: the reminder round of the activities area and the
// snapshot round of the forecast area (each safe with several replicas, see there). A job runs when its period has
// passed since it last started; one that throws is counted in crm_sales_scheduler_failures_total, logged and run
// again at its next turn.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace prometheus {
class Counter;
}

namespace crm::common {
class Metrics;
}

namespace crm::sales {

struct ScheduledJob {
    std::string name;  // for logs
    std::chrono::milliseconds every;
    std::function<void()> run;
};

class Scheduler {
  public:
    Scheduler(std::vector<ScheduledJob> jobs, common::Metrics& metrics);
    ~Scheduler();
    void Start();
    void Stop();  // idempotent; waits for the job in progress

  private:
    void Loop();
    std::vector<ScheduledJob> jobs_;
    prometheus::Counter& failures_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace crm::sales
