#include "domain/sla.hpp"

#include <cstdio>
#include <set>
#include <utility>

#include "crm/common/validate.hpp"

namespace crm::support::domain {
namespace {

bool Digits(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return !s.empty();
}

int ToInt(std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
}

}  // namespace

const char* SlaMetricText(SlaMetric metric) {
    return metric == SlaMetric::kFirstResponse ? "FIRST_RESPONSE" : "RESOLUTION";
}

std::optional<SlaMetric> ParseSlaMetric(std::string_view text) {
    if (text == "FIRST_RESPONSE") return SlaMetric::kFirstResponse;
    if (text == "RESOLUTION") return SlaMetric::kResolution;
    return std::nullopt;
}

std::optional<SlaTarget> TargetFor(const SlaRules& rules, Priority priority, const std::string& customer_tier) {
    std::optional<SlaTarget> any_tier;
    for (const SlaTarget& t : rules.targets) {
        if (t.priority != priority) continue;
        if (!customer_tier.empty() && t.customer_tier == customer_tier) return t;
        if (t.customer_tier.empty()) any_tier = t;
    }
    return any_tier;
}

std::int64_t TargetSeconds(const SlaTarget& target, SlaMetric metric) {
    return metric == SlaMetric::kFirstResponse ? target.first_response_seconds : target.resolution_seconds;
}

std::int64_t WarningSeconds(std::int64_t target_seconds, int warning_percent) {
    if (target_seconds <= 1) return 0;
    const std::int64_t at = target_seconds * warning_percent / 100;
    if (at < 1) return 1;
    return at >= target_seconds ? target_seconds - 1 : at;
}

std::vector<EscalationRule> RulesFor(const SlaRules& rules, SlaMetric metric, SlaStage stage) {
    std::vector<EscalationRule> out;
    for (const auto& r : rules.escalations) {
        if (r.metric == metric && r.stage == stage) out.push_back(r);
    }
    return out;
}

Priority Raised(Priority priority) {
    switch (priority) {
        case Priority::kLow:
            return Priority::kNormal;
        case Priority::kNormal:
            return Priority::kHigh;
        default:
            return Priority::kUrgent;
    }
}

common::Violations CheckSlaRules(const SlaRules& rules, const std::string& prefix) {
    common::Violations v;
    common::CheckListSize(v, rules.targets.size(), prefix + "targets", kMaxTargets);
    std::set<std::pair<Priority, std::string>> seen;
    for (std::size_t i = 0; i < rules.targets.size(); ++i) {
        const SlaTarget& t = rules.targets[i];
        const std::string p = prefix + "targets[" + std::to_string(i) + "].";
        if (common::CheckText(v, t.customer_tier, p + "customer_tier", {.max_chars = 63}) && !t.customer_tier.empty() &&
            !IsKey(t.customer_tier)) {
            v.Add(p + "customer_tier", "must match [a-z][a-z0-9_]{0,62} (or be empty: any tier)");
        }
        if (t.first_response_seconds < 0 || t.first_response_seconds > kMaxTargetSeconds) {
            v.Add(p + "first_response_seconds", "must be 0 (no target) .. 31536000 (365 days)");
        }
        if (t.resolution_seconds < 0 || t.resolution_seconds > kMaxTargetSeconds) {
            v.Add(p + "resolution_seconds", "must be 0 (no target) .. 31536000 (365 days)");
        }
        if (!seen.insert({t.priority, t.customer_tier}).second) {
            v.Add(p + "priority", "a second target for this priority and customer tier");
        }
    }
    if (rules.warning_percent < 1 || rules.warning_percent > 99) v.Add(prefix + "warning_percent", "must be 1..99");
    common::CheckListSize(v, rules.escalations.size(), prefix + "escalations", kMaxEscalations);
    for (std::size_t i = 0; i < rules.escalations.size(); ++i) {
        const EscalationRule& r = rules.escalations[i];
        const std::string field = prefix + "escalations[" + std::to_string(i) + "].assignee_id";
        if (!common::CheckToken(v, r.assignee_id, field, kMaxUserId)) continue;
        if (r.action == EscalationAction::kReassign && r.assignee_id.empty()) {
            v.Add(field, "required for a REASSIGN rule: the agent or manager who takes the case");
        } else if (r.action != EscalationAction::kReassign && !r.assignee_id.empty()) {
            v.Add(field, "only a REASSIGN rule names an assignee");
        }
    }
    return v;
}

std::optional<std::int32_t> ParseClock(std::string_view text) {
    if (text.size() != 5 || text[2] != ':' || !Digits(text.substr(0, 2)) || !Digits(text.substr(3, 2))) {
        return std::nullopt;
    }
    const int h = ToInt(text.substr(0, 2));
    const int m = ToInt(text.substr(3, 2));
    if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
    return h * 3600 + m * 60;
}

std::string FormatClock(std::int32_t seconds) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", seconds / 3600, (seconds % 3600) / 60);
    return buf;
}

std::optional<common::CivilDate> ParseIsoDate(std::string_view text) {
    auto date = common::ParseIsoDate(text);
    if (!date || !common::InSuiteRange(*date)) return std::nullopt;
    return date;
}

std::string FormatIsoDate(const common::CivilDate& date) { return common::FormatIsoDate(date); }

}  // namespace crm::support::domain
