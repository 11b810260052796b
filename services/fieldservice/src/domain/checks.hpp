#pragma once
// The field-service API's input rules on top of the kit's validators: text limits, optional ids, etag syntax, skills,
// time windows, working hours. Pure: handlers pass plain values and the field path to name.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/civil_date.hpp"
#include "crm/common/validate.hpp"
#include "domain/availability.hpp"

namespace crm::fieldservice::domain {

inline constexpr std::size_t kMaxTokenLength = 64;
inline constexpr std::size_t kMaxUserIdLength = 128;
inline constexpr common::TextRule kTitleRule{.max_chars = 200, .required = true};
inline constexpr common::TextRule kShortText{.max_chars = 200};
inline constexpr common::TextRule kAddressRule{.max_chars = 500, .required = true};
inline constexpr common::TextRule kNotesRule{.max_chars = 4000, .multiline = true};
inline constexpr std::size_t kMaxRequiredSkills = 20;
inline constexpr std::size_t kMaxWindows = 10;
inline constexpr std::size_t kMaxChecklist = 50;
inline constexpr std::size_t kMaxParts = 50;
inline constexpr std::size_t kMaxSkills = 50;
inline constexpr std::size_t kMaxWorkingHours = 21;
inline constexpr std::size_t kMaxTimeOff = 100;
inline constexpr std::size_t kMaxSignatureBytes = 256 * 1024;
inline constexpr int kMaxDurationMinutes = 1440;
inline constexpr int kMaxPartQuantity = 10000;
inline constexpr std::int64_t kMaxStockQuantity = 1000000;
// Times a device reports (locations, offline changes) may run ahead of the service's clock by this much.
inline constexpr std::int64_t kClockSkewMicros = 60LL * 1000000;
// A location report older than this is refused.
inline constexpr std::int64_t kMaxLocationAgeMicros = 24LL * 3600 * 1000000;
inline constexpr double kMaxAccuracyMeters = 100000;
// At most this many offline operations per SyncTechnicianDay call.
inline constexpr std::size_t kMaxSyncOperations = 500;
// A window or time off longer than this is refused (the search horizon stays bounded).
inline constexpr std::int64_t kMaxWindowSeconds = 62LL * 86400;

// "" or a UUID (lowercased); a violation on `field` otherwise.
std::string CheckOptionalId(common::Violations& v, std::string_view value, const std::string& field);
// An etag this service issued ("v<version>"), or empty.
void CheckEtagSyntax(common::Violations& v, std::string_view etag, std::string_view field);
// A skill name: a required token of at most 64 characters.
void CheckSkillName(common::Violations& v, std::string_view skill, const std::string& field);
void CheckLevel(common::Violations& v, int level, const std::string& field);

// A time value as the API carries it (protobuf Timestamp seconds/nanos; present = the field is set).
struct TimeValue {
    bool present = false;
    std::int64_t seconds = 0;
    std::int32_t nanos = 0;
};
// Both ends required and in the suite's range, end after start, at most kMaxWindowSeconds long; violations name
// "<field>.start_time" / "<field>.end_time" (or `field` for the order). Returns true when it passed.
bool CheckWindow(common::Violations& v, const TimeValue& start, const TimeValue& end, const std::string& field);

// One working-hours entry: weekday 0..6, start 0..1439, end start+1..1440.
void CheckWorkingHours(common::Violations& v, const WorkingHoursRule& rule, const std::string& field);

// A required date "YYYY-MM-DD" from 1900-01-01 to 2199-12-31; nullopt and a violation on `field` otherwise.
std::optional<common::CivilDate> CheckDate(common::Violations& v, std::string_view value, const std::string& field);

// Duplicates in a list of names (skills): a violation on the second occurrence's field.
void CheckUnique(common::Violations& v, const std::vector<std::string>& names, const std::string& list_field,
                 const std::string& member);

}  // namespace crm::fieldservice::domain
