#include "scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"

namespace crm::sales {

Scheduler::Scheduler(std::vector<ScheduledJob> jobs, common::Metrics& metrics)
    : jobs_(std::move(jobs)),
      failures_(prometheus::BuildCounter()
                    .Name("crm_sales_scheduler_failures_total")
                    .Help("Scheduler rounds that failed (retried at the next round).")
                    .Register(metrics.registry())
                    .Add({})) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
    thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
    using Clock = std::chrono::steady_clock;
    std::vector<Clock::time_point> next(jobs_.size(), Clock::now());
    std::unique_lock lock(mutex_);
    while (!stop_ && !jobs_.empty()) {
        lock.unlock();
        for (std::size_t i = 0; i < jobs_.size(); ++i) {
            if (Clock::now() < next[i]) continue;
            next[i] = Clock::now() + jobs_[i].every;
            try {
                jobs_[i].run();
            } catch (const std::exception& e) {
                failures_.Increment();
                common::log::Warn("sales scheduler round failed; retrying",
                                  {{"job", jobs_[i].name}, {"error_kind", typeid(e).name()}});
            }
        }
        lock.lock();
        wake_.wait_until(lock, *std::min_element(next.begin(), next.end()), [this] { return stop_; });
    }
}

}  // namespace crm::sales
