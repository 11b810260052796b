#pragma once
// Pure rules of lead scoring: per-tenant rules over a lead's fields and its engagements, engagement points decaying
// with a half-life, and the validation of a rule set.
#include <optional>
#include <string>
#include <vector>

#include "crm/common/violations.hpp"
#include "domain/lead.hpp"

namespace crm::leads::domain {

enum class Operator { kEquals, kOneOf, kPresent, kAtLeast, kContains };

struct Rule {
    std::string name;
    bool is_engagement = false;
    // Attribute condition.
    std::string field;
    Operator op = Operator::kEquals;
    std::vector<std::string> values;
    // Engagement condition.
    std::string engagement_type;
    int weight = 0;
};

struct RuleSet {
    std::vector<Rule> rules;
    double half_life_days = 30.0;
};

struct EngagementFact {
    std::string type;
    double age_days = 0;  // >= 0
    bool outbound = false;
};

struct ScoreReason {
    std::string rule;
    double points = 0;
};

struct Score {
    int score = 0;
    std::vector<ScoreReason> reasons;  // largest |points| first
};

// Every problem of a rule set, fields prefixed with `prefix` ("scoring_rules.").
common::Violations ValidateRules(const RuleSet& rules, const std::string& prefix);
// The value of a condition field of a lead ("email_domain", "priority" as "low".."urgent", "attributes.<key>").
std::optional<std::string> FieldValue(const LeadFields& lead, const std::string& field);
bool IsConditionField(const std::string& field);
Score ComputeScore(const RuleSet& rules, const LeadFields& lead, const std::vector<EngagementFact>& engagements);
// A decimal number as the AT_LEAST operator reads it (also numeric attributes for the model); nullopt otherwise.
std::optional<double> ParseNumber(const std::string& text);

}  // namespace crm::leads::domain
