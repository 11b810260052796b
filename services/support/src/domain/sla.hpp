#pragma once
// Pure rules of SLA policies: which target applies to a case (priority and customer tier), when a clock warns, which
// escalation rules fire at a stage, what "raise priority" means, and the checks of a policy (targets, warning share,
// rules, working hours as "HH:MM", holidays as "YYYY-MM-DD"). The business-calendar arithmetic itself is the kit's
// (common/business_hours.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/civil_date.hpp"
#include "crm/common/violations.hpp"
#include "domain/case.hpp"

namespace crm::support::domain {

enum class SlaMetric { kFirstResponse, kResolution };
const char* SlaMetricText(SlaMetric metric);  // "FIRST_RESPONSE", "RESOLUTION"
std::optional<SlaMetric> ParseSlaMetric(std::string_view text);

enum class SlaStage { kWarning, kBreach };
enum class EscalationAction { kNotify, kReassign, kRaisePriority };

inline constexpr std::int64_t kMaxTargetSeconds = 365LL * 86400;
inline constexpr std::size_t kMaxTargets = 100;
inline constexpr std::size_t kMaxEscalations = 20;

// Targets of one priority (and tier: "" = any tier); 0 = no target for that metric.
struct SlaTarget {
    Priority priority = Priority::kNormal;
    std::string customer_tier;
    std::int64_t first_response_seconds = 0;
    std::int64_t resolution_seconds = 0;
};

struct EscalationRule {
    SlaMetric metric = SlaMetric::kFirstResponse;
    SlaStage stage = SlaStage::kBreach;
    EscalationAction action = EscalationAction::kNotify;
    std::string assignee_id;  // kReassign: the new assignee (e.g. a manager)
};

struct SlaRules {
    std::vector<SlaTarget> targets;
    int warning_percent = 80;  // a clock warns when this share of its target has elapsed
    std::vector<EscalationRule> escalations;
};

// The target for a case: the one of its priority and tier, else the one of its priority for any tier, else none.
std::optional<SlaTarget> TargetFor(const SlaRules& rules, Priority priority, const std::string& customer_tier);
std::int64_t TargetSeconds(const SlaTarget& target, SlaMetric metric);
// Business seconds after the start at which a clock with this target warns: target * percent / 100, at least 1 and
// less than the target (a 1-second target never warns: 0 is returned).
std::int64_t WarningSeconds(std::int64_t target_seconds, int warning_percent);
// The rules of a metric and stage, in their order.
std::vector<EscalationRule> RulesFor(const SlaRules& rules, SlaMetric metric, SlaStage stage);
// One step up (LOW -> NORMAL -> HIGH -> URGENT); URGENT stays.
Priority Raised(Priority priority);

// Every problem of a policy's rules, named under prefix ("sla_policy."): targets (two for one priority and tier,
// seconds out of 0..365 days, a tier that is not a key), warning_percent outside 1..99, a reassignment without an
// assignee.
common::Violations CheckSlaRules(const SlaRules& rules, const std::string& prefix);

// "HH:MM" (00:00..24:00) as seconds after midnight.
std::optional<std::int32_t> ParseClock(std::string_view text);
std::string FormatClock(std::int32_t seconds);
// "YYYY-MM-DD", a real date.
std::optional<common::CivilDate> ParseIsoDate(std::string_view text);
std::string FormatIsoDate(const common::CivilDate& date);

}  // namespace crm::support::domain
