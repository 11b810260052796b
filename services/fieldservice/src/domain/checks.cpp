#include "domain/checks.hpp"

#include <set>

#include "crm/common/resource.hpp"

namespace crm::fieldservice::domain {

std::string CheckOptionalId(common::Violations& v, std::string_view value, const std::string& field) {
    return value.empty() ? std::string() : common::CheckId(v, value, field);
}

void CheckEtagSyntax(common::Violations& v, std::string_view etag, std::string_view field) {
    if (!etag.empty() && !common::ParseEtag(etag)) {
        v.Add(std::string(field), "is not an etag this service issued: send back the etag of the last read, or none");
    }
}

void CheckSkillName(common::Violations& v, std::string_view skill, const std::string& field) {
    common::CheckToken(v, skill, field, kMaxTokenLength, true);
}

void CheckLevel(common::Violations& v, int level, const std::string& field) {
    if (level < 1 || level > 5) v.Add(field, "must be a level from 1 to 5");
}

bool CheckWindow(common::Violations& v, const TimeValue& start, const TimeValue& end, const std::string& field) {
    bool ok = true;
    if (!start.present) {
        v.Add(field + ".start_time", "is required");
        ok = false;
    } else if (!common::CheckTime(v, start.seconds, start.nanos, field + ".start_time")) {
        ok = false;
    }
    if (!end.present) {
        v.Add(field + ".end_time", "is required");
        ok = false;
    } else if (!common::CheckTime(v, end.seconds, end.nanos, field + ".end_time")) {
        ok = false;
    }
    if (!ok) return false;
    const auto micros = [](const TimeValue& t) { return t.seconds * 1000000 + t.nanos / 1000; };
    if (micros(end) <= micros(start)) {
        v.Add(field + ".end_time", "must be after start_time");
        return false;
    }
    if (end.seconds - start.seconds > kMaxWindowSeconds) {
        v.Add(field + ".end_time", "the window may be at most 62 days long");
        return false;
    }
    return true;
}

void CheckWorkingHours(common::Violations& v, const WorkingHoursRule& rule, const std::string& field) {
    if (rule.weekday < 0 || rule.weekday > 6) v.Add(field + ".weekday", "must be 0 (Sunday) to 6 (Saturday)");
    if (rule.start_minute < 0 || rule.start_minute > 1439) v.Add(field + ".start_minute", "must be 0 to 1439");
    if (rule.end_minute <= rule.start_minute || rule.end_minute > 1440) {
        v.Add(field + ".end_minute", "must be after start_minute and at most 1440");
    }
}

std::optional<common::CivilDate> CheckDate(common::Violations& v, std::string_view value, const std::string& field) {
    if (auto date = common::ParseIsoDate(value); date && common::InSuiteRange(*date)) return date;
    v.Add(field, "must be a date YYYY-MM-DD from 1900-01-01 to 2199-12-31");
    return std::nullopt;
}

void CheckUnique(common::Violations& v, const std::vector<std::string>& names, const std::string& list_field,
                 const std::string& member) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!seen.insert(names[i]).second) {
            v.Add(list_field + "[" + std::to_string(i) + "]." + member, "is given twice");
        }
    }
}

}  // namespace crm::fieldservice::domain
