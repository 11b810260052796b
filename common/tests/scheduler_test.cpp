#include "crm/common/scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

using crm::common::ScheduledJob;
using crm::common::Scheduler;
using namespace std::chrono_literals;

namespace {

template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("scheduler: each job runs at start and then at its own period") {
    std::atomic<int> fast{0}, slow{0};
    Scheduler s("test", {{"fast", 10ms, [&] { ++fast; }}, {"slow", 1h, [&] { ++slow; }}});
    s.Start();
    REQUIRE(Eventually([&] { return fast.load() >= 5; }));
    s.Stop();
    CHECK(slow.load() == 1);  // once at start, never again within the hour
    const int after_stop = fast.load();
    std::this_thread::sleep_for(50ms);
    CHECK(fast.load() == after_stop);  // nothing runs after Stop returned
}

TEST_CASE("scheduler: a job that throws is counted, logged and run again - the others keep running") {
    prometheus::Registry registry;
    auto& failures = prometheus::BuildCounter().Name("test_failures_total").Help("h").Register(registry).Add({});
    std::atomic<int> throws{0}, fine{0};
    Scheduler s("test",
                {{"broken", 5ms,
                  [&] {
                      ++throws;
                      throw std::runtime_error("database unavailable");
                  }},
                 {"fine", 5ms, [&] { ++fine; }}},
                &failures);
    s.Start();
    REQUIRE(Eventually([&] { return throws.load() >= 3 && fine.load() >= 3; }));
    s.Stop();
    CHECK(failures.Value() == static_cast<double>(throws.load()));
}

TEST_CASE("scheduler: Wake runs the jobs now - Stop waits for the job in progress and is idempotent") {
    std::atomic<int> runs{0};
    std::atomic<bool> in_job{false}, finished{false};
    Scheduler s("test", {{"long", 1h, [&] {
                              if (++runs == 2) {
                                  in_job = true;
                                  std::this_thread::sleep_for(100ms);
                                  finished = true;
                              }
                          }}});
    s.Start();
    REQUIRE(Eventually([&] { return runs.load() == 1; }));
    std::this_thread::sleep_for(20ms);
    CHECK(runs.load() == 1);  // the hour has not passed
    s.Wake();
    REQUIRE(Eventually([&] { return in_job.load(); }));
    s.Stop();
    CHECK(finished.load());  // Stop returned only after the round in progress
    CHECK(s.stopping());
    s.Stop();
}
