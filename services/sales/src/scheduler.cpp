#include "scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "storage/repository.hpp"

namespace crm::sales {

Scheduler::Scheduler(SchedulerSettings settings, std::shared_ptr<storage::Repository> repository,
                     common::Metrics& metrics)
    : settings_(settings),
      repository_(std::move(repository)),
      reminders_(prometheus::BuildCounter()
                     .Name("crm_sales_reminders_published_total")
                     .Help("ActivityDue events written by the reminder scheduler.")
                     .Register(metrics.registry())
                     .Add({})),
      snapshots_(prometheus::BuildCounter()
                     .Name("crm_sales_forecast_snapshots_total")
                     .Help("Forecast snapshots taken, by trigger.")
                     .Register(metrics.registry())
                     .Add({{"trigger", "scheduled"}})),
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
    auto next_snapshot_check = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (!stop_) {
        lock.unlock();
        try {
            int published = 0;
            do {
                published = repository_->PublishDueReminders(settings_.reminder_batch);
                reminders_.Increment(published);
            } while (published == settings_.reminder_batch);
            if (std::chrono::steady_clock::now() >= next_snapshot_check) {
                next_snapshot_check = std::chrono::steady_clock::now() + settings_.snapshot_check;
                const int taken = repository_->TakeScheduledSnapshots(settings_.snapshot_interval_seconds);
                snapshots_.Increment(taken);
                if (taken > 0)
                    common::log::Info("scheduled forecast snapshots taken", {{"count", std::to_string(taken)}});
            }
        } catch (const std::exception& e) {
            failures_.Increment();
            common::log::Warn("sales scheduler round failed; retrying", {{"error_kind", typeid(e).name()}});
        }
        lock.lock();
        wake_.wait_for(lock, settings_.reminder_poll, [this] { return stop_; });
    }
}

}  // namespace crm::sales
