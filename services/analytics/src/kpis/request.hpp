#pragma once
// Request checks and conversions shared by the KPI handlers (kpis/handlers.cpp, support_kpis/handlers.cpp): the period,
// filters, as-of time and ratios. Include from handler files only (protobuf).
#include <crm/analytics/v1/analytics.pb.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "crm/common/validate.hpp"
#include "crm/common/violations.hpp"
#include "domain/kpis.hpp"
#include "domain/measures.hpp"
#include "projection/proto_time.hpp"

namespace crm::analytics::request {

namespace v1 = crm::analytics::v1;
using domain::Micros;
using projection::ToMicros;

inline constexpr size_t kMaxFilterLength = 200;
inline constexpr Micros kMaxPeriod = 3660 * domain::kMicrosPerDay;
inline constexpr size_t kMaxBuckets = 1000;
inline constexpr Micros kClockSkew = 5 * domain::kMicrosPerSecond;

inline Micros Now() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class Checks {
  public:
    domain::Period Period(bool has_start, const google::protobuf::Timestamp& start, bool has_end,
                          const google::protobuf::Timestamp& end) {
        domain::Period p;
        bool ok = true;
        if (!has_start) {
            errors_.Add("start_time", "is required");
            ok = false;
        } else {
            ok = common::CheckTime(errors_, start.seconds(), start.nanos(), "start_time") && ok;
        }
        if (!has_end) {
            errors_.Add("end_time", "is required");
            ok = false;
        } else {
            ok = common::CheckTime(errors_, end.seconds(), end.nanos(), "end_time") && ok;
        }
        if (!ok) return p;
        p = {ToMicros(start), ToMicros(end)};
        if (p.end <= p.start) {
            errors_.Add("end_time", "must be after start_time");
        } else if (p.end - p.start > kMaxPeriod) {
            errors_.Add("end_time", "must be at most 3660 days after start_time");
        }
        return p;
    }

    domain::Filter Filter(const v1::KpiFilter& f) {
        auto check = [&](const std::string& value, const char* field) {
            common::CheckToken(errors_, value, std::string("filter.") + field, kMaxFilterLength);
        };
        check(f.pipeline_id(), "pipeline_id");
        check(f.owner_id(), "owner_id");
        check(f.source(), "source");
        check(f.campaign_id(), "campaign_id");
        return {f.pipeline_id(), f.owner_id(), f.source(), f.campaign_id()};
    }

    void Add(const std::string& field, const std::string& description) { errors_.Add(field, description); }
    common::Violations& violations() { return errors_; }
    bool empty() const { return errors_.empty(); }
    void ThrowIfAny() const { errors_.ThrowIfAny(); }

  private:
    common::Violations errors_;
};

inline v1::Ratio ToProto(const domain::Ratio& r) {
    v1::Ratio out;
    out.set_numerator(r.numerator);
    out.set_denominator(r.denominator);
    out.set_value(r.denominator ? static_cast<double>(r.numerator) / static_cast<double>(r.denominator) : 0.0);
    return out;
}

inline v1::DurationStat ToProto(const domain::Durations& d) {
    v1::DurationStat out;
    out.set_count(d.count);
    out.set_total_seconds(d.TotalSeconds());
    out.set_average_seconds(d.AverageSeconds());
    return out;
}

inline v1::Ratio ToProto(const domain::Counts& c) { return ToProto(domain::Ratio{c.numerator, c.denominator}); }

// The as-of time of a request: default min(period end, now); a stated one must not be in the future.
inline Micros AsOf(Checks& checks, bool has_as_of, const google::protobuf::Timestamp& as_of_time, Micros end,
                   Micros now) {
    Micros as_of = std::min(end, now);
    if (has_as_of && common::CheckTime(checks.violations(), as_of_time.seconds(), as_of_time.nanos(), "as_of_time")) {
        if (ToMicros(as_of_time) > now + kClockSkew) {
            checks.Add("as_of_time", "must not be in the future");
        } else {
            as_of = std::min(ToMicros(as_of_time), now);
        }
    }
    return as_of;
}

}  // namespace crm::analytics::request
