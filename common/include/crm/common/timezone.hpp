#pragma once
// IANA time zones for wall-clock rules (business hours, working hours, "Tuesday 09:00 in the contact's zone"), read
// from the system's TZif files (RFC 8536; Debian's tzdata in /usr/share/zoneinfo, or $TZDIR), with the POSIX TZ rule
// in the file's footer for instants after its last transition. Pure: no gRPC, no database; thread-safe.
//
// Seconds here are Unix seconds (UTC) or "local seconds": the wall-clock date and time of the zone counted as if it
// were UTC (so CivilFromDays(local / 86400) is the local date).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/civil_date.hpp"

namespace crm::common {

class TimeZone {
  public:
    // The zone named `name` ("Europe/Berlin", "UTC"), loaded once per process and cached. Throws
    // std::invalid_argument when the name is malformed (IsTimeZoneName) or not in the database, or the file is not
    // a TZif file.
    static std::shared_ptr<const TimeZone> Load(std::string_view name);
    // Parses TZif bytes (for tests and embedded data). Throws std::invalid_argument on malformed data.
    static std::shared_ptr<const TimeZone> FromTzif(std::string name, std::string_view bytes);

    const std::string& name() const { return name_; }

    // UTC offset in seconds (east positive) at a UTC instant.
    int32_t OffsetAt(int64_t utc_seconds) const;
    // Whether daylight-saving time is in effect at a UTC instant.
    bool IsDstAt(int64_t utc_seconds) const;
    int64_t ToLocal(int64_t utc_seconds) const { return utc_seconds + OffsetAt(utc_seconds); }

    // The UTC instant of a wall-clock time. A wall time that occurs twice (clocks set back) gives the earlier
    // instant; one that does not occur (clocks set forward) is moved forward by the gap (02:30 on a spring-forward
    // night in Berlin is 03:30 CEST), as PostgreSQL and java.time do.
    int64_t ToUtc(int64_t local_seconds) const;
    int64_t ToUtc(const CivilDate& date, int32_t seconds_of_day) const {
        return ToUtc(DaysFromCivil(date) * 86400 + seconds_of_day);
    }

    struct Rule;  // the POSIX TZ footer, parsed
    struct Type {
        int32_t offset = 0;
        bool dst = false;
    };
    TimeZone(std::string name, std::vector<int64_t> transitions, std::vector<uint8_t> indices, std::vector<Type> types,
             std::shared_ptr<const Rule> rule);
    ~TimeZone();

  private:
    Type TypeAt(int64_t utc_seconds) const;

    std::string name_;
    std::vector<int64_t> transitions_;  // UTC, ascending
    std::vector<uint8_t> indices_;      // type of each transition
    std::vector<Type> types_;
    std::shared_ptr<const Rule> rule_;  // may be null (no footer, or an empty one)
};

// Whether `name` has the shape of an IANA zone name: letters, digits, '_', '-', '+' in '/'-separated parts, no "."
// or ".." part, at most 64 characters. Says nothing about whether the zone exists (TimeZone::Load does).
bool IsTimeZoneName(std::string_view name);

// Day of the week of a date: 0 = Sunday .. 6 = Saturday.
unsigned Weekday(const CivilDate& date);

}  // namespace crm::common
