#pragma once
// Waiting on a condition in integration tests: the stack is asynchronous (outbox relay, consumers, schedulers) and CI
// runs everything on two loaded cores, so tests poll a condition with a generous deadline, never sleep-then-assert.
#include <chrono>
#include <thread>

namespace crm::test {

// Polls `done` every 200 ms until it returns true or `timeout` passes; the last answer (checked once more at the end).
template <class F>
bool Eventually(F&& done, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return done();
}

}  // namespace crm::test
