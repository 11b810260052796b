#include "crm/common/scheduler.hpp"

#include <prometheus/counter.h>

#include <algorithm>
#include <typeinfo>

#include "crm/common/log.hpp"

namespace crm::common {

Scheduler::Scheduler(std::string name, std::vector<ScheduledJob> jobs, prometheus::Counter* failures)
    : name_(std::move(name)), jobs_(std::move(jobs)), failures_(failures) {}

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

void Scheduler::Wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_all();
}

bool Scheduler::stopping() const {
    std::lock_guard lock(mutex_);
    return stop_;
}

void Scheduler::Loop() {
    using Clock = std::chrono::steady_clock;
    std::vector<Clock::time_point> next(jobs_.size(), Clock::now());
    std::unique_lock lock(mutex_);
    while (!stop_ && !jobs_.empty()) {
        woken_ = false;
        lock.unlock();
        for (std::size_t i = 0; i < jobs_.size(); ++i) {
            if (Clock::now() < next[i]) continue;
            next[i] = Clock::now() + jobs_[i].every;
            try {
                jobs_[i].run();
            } catch (const std::exception& e) {
                if (failures_ != nullptr) failures_->Increment();
                log::Warn("scheduled job failed; retrying at its next turn",
                          {{"scheduler", name_}, {"job", jobs_[i].name}, {"error_kind", typeid(e).name()}});
            }
        }
        lock.lock();
        wake_.wait_until(lock, *std::min_element(next.begin(), next.end()), [this] { return stop_ || woken_; });
        if (woken_ && !stop_) std::fill(next.begin(), next.end(), Clock::now());
    }
}

}  // namespace crm::common
