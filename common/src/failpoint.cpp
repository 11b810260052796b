#include "crm/common/failpoint.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"

namespace crm::common {
namespace {

enum class Action { kCrash, kError, kDelay };

struct Point {
    Action action = Action::kError;
    int delay_ms = 0;
    int remaining = -1;  // -1: every time
    int hits = 0;
};

std::atomic<bool> g_any{false};
std::mutex g_mutex;
std::map<std::string, Point, std::less<>> g_points;

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

int ParsePositive(std::string_view digits, std::string_view what) {
    if (digits.empty() || digits.size() > 7) throw std::invalid_argument("failpoint: bad " + std::string(what));
    int value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') throw std::invalid_argument("failpoint: bad " + std::string(what));
        value = value * 10 + (c - '0');
    }
    return value;
}

}  // namespace

void ConfigureFailpoints(std::string_view spec) {
    std::map<std::string, Point, std::less<>> points;
    while (!spec.empty()) {
        const std::size_t end = spec.find(';');
        const std::string_view item = Trim(spec.substr(0, end));
        spec = end == std::string_view::npos ? std::string_view() : spec.substr(end + 1);
        if (item.empty()) continue;
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            throw std::invalid_argument("failpoint: expected name=action in '" + std::string(item) + "'");
        }
        const std::string name(Trim(item.substr(0, eq)));
        std::string_view action = Trim(item.substr(eq + 1));
        Point p;
        if (const std::size_t star = action.find('*'); star != std::string_view::npos) {
            p.remaining = ParsePositive(action.substr(star + 1), "count");
            action = action.substr(0, star);
        }
        if (action == "crash") {
            p.action = Action::kCrash;
        } else if (action == "error") {
            p.action = Action::kError;
        } else if (action.substr(0, 6) == "delay:") {
            p.action = Action::kDelay;
            p.delay_ms = ParsePositive(action.substr(6), "delay");
        } else {
            throw std::invalid_argument("failpoint: unknown action '" + std::string(action) +
                                        "' (crash, error, delay:<ms>)");
        }
        points[name] = p;
    }
    std::lock_guard lock(g_mutex);
    g_points = std::move(points);
    g_any.store(!g_points.empty(), std::memory_order_relaxed);
}

void Failpoint(std::string_view name) {
    if (!g_any.load(std::memory_order_relaxed)) return;
    Point fired;
    {
        std::lock_guard lock(g_mutex);
        auto it = g_points.find(name);
        if (it == g_points.end() || it->second.remaining == 0) return;
        if (it->second.remaining > 0) --it->second.remaining;
        ++it->second.hits;
        fired = it->second;
    }
    log::Warn("failpoint fired", {{"failpoint", std::string(name)}});
    switch (fired.action) {
        case Action::kCrash:
            ::kill(::getpid(), SIGKILL);  // as a power loss: no destructors, no flush, no commit
            ::pause();
            break;
        case Action::kDelay:
            std::this_thread::sleep_for(std::chrono::milliseconds(fired.delay_ms));
            break;
        case Action::kError:
            throw ApiError::Unavailable("injected failure (failpoint " + std::string(name) + ")");
    }
}

bool FailpointsArmed() { return g_any.load(std::memory_order_relaxed); }

int FailpointHits(std::string_view name) {
    std::lock_guard lock(g_mutex);
    auto it = g_points.find(name);
    return it == g_points.end() ? 0 : it->second.hits;
}

}  // namespace crm::common
