#pragma once
// JSON logs: one object per line on stdout with time, level, service, message and any fields given.
// Never log personal data or secrets: callers pass ids, codes and counts only.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crm::common::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Fields = std::vector<std::pair<std::string, std::string>>;

void Init(std::string service, Level min_level);
Level ParseLevel(std::string_view text);  // throws std::invalid_argument
bool Enabled(Level level);
void Write(Level level, std::string_view message, const Fields& fields = {});

inline void Debug(std::string_view m, const Fields& f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, const Fields& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, const Fields& f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, const Fields& f = {}) { Write(Level::kError, m, f); }

// Renders one log line (exposed for tests).
std::string Format(Level level, std::string_view service, std::string_view message, const Fields& fields);

}  // namespace crm::common::log
