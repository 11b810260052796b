#pragma once
// Periodic jobs of a service on one background thread (SLA scans, reminders, snapshots, senders, upkeep). A job runs
// when its period has passed since it last started (the first time at Start); one that throws is logged (the
// exception's type only: messages may quote personal data), counted in `failures` when given, and run again at its
// next turn. Jobs must be safe with several replicas on their own (a
// claim, a lock or an idempotent write): the scheduler only paces them.
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

struct ScheduledJob {
    std::string name;  // for logs
    std::chrono::milliseconds every;
    std::function<void()> run;
};

class Scheduler {
  public:
    // name: the owner, for logs ("sales", "leads SLA"). failures may be null (the jobs count their own).
    Scheduler(std::string name, std::vector<ScheduledJob> jobs, prometheus::Counter* failures = nullptr);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    void Start();  // once
    // Lets the job in progress finish, then stops; idempotent.
    void Stop();
    // Runs every job now instead of waiting for its turn (e.g. new work was queued); their periods restart.
    void Wake();
    bool stopping() const;

  private:
    void Loop();
    std::string name_;
    std::vector<ScheduledJob> jobs_;
    prometheus::Counter* failures_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    bool woken_ = false;
    std::thread thread_;
};

}  // namespace crm::common
