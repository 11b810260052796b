#include "crm/common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace crm::common::log {
namespace {
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::string g_service = "crm";
std::mutex g_write_mutex;

const char* LevelName(Level level) {
    switch (level) {
        case Level::kDebug:
            return "debug";
        case Level::kInfo:
            return "info";
        case Level::kWarn:
            return "warn";
        case Level::kError:
            return "error";
    }
    return "info";
}

std::string NowRfc3339() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
    std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];  // room for any int the compiler assumes
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    return buf;
}
}  // namespace

void Init(std::string service, Level min_level) {
    g_service = std::move(service);
    g_min_level.store(static_cast<int>(min_level));
}

Level ParseLevel(std::string_view text) {
    if (text == "debug") return Level::kDebug;
    if (text == "info") return Level::kInfo;
    if (text == "warn" || text == "warning") return Level::kWarn;
    if (text == "error") return Level::kError;
    throw std::invalid_argument("log level must be one of debug, info, warn, error");
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed); }

std::string Format(Level level, std::string_view service, std::string_view message, const Fields& fields) {
    nlohmann::ordered_json line;
    line["time"] = NowRfc3339();
    line["level"] = LevelName(level);
    line["service"] = service;
    line["message"] = message;
    for (const auto& [key, value] : fields) line[key] = value;
    // Invalid UTF-8 is replaced rather than thrown on: a log line must never take a request down.
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void Write(Level level, std::string_view message, const Fields& fields) {
    if (!Enabled(level)) return;
    std::string text = Format(level, g_service, message, fields);
    text.push_back('\n');
    std::lock_guard lock(g_write_mutex);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

}  // namespace crm::common::log
