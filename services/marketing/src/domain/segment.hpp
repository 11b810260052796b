#pragma once
// Dynamic segments as pure rules: a rule tree (ALL / ANY / NOT over field and engagement conditions), its validation
// (every bad node named by its path), its evaluation for one person (incremental membership, as events arrive) and
// its translation to a SQL predicate over the audience table (full evaluation, previews). The two must agree: the
// integration test compares membership kept incrementally with a full re-evaluation.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::marketing::domain {

enum class FieldType { kText, kNumber, kTime, kList };

enum class Op {
    kEquals,
    kNotEquals,
    kIn,
    kContains,
    kExists,
    kNotExists,
    kGreater,
    kGreaterOrEqual,
    kLess,
    kLessOrEqual,
    kWithinLastDays,  // times: within the last N days (values[0] = N)
    kBefore,          // times: before the date values[0] (YYYY-MM-DD, 00:00 UTC)
    kAfter,           // times: at or after the date values[0]
};

struct FieldCondition {
    std::string field;  // "email", "lead_score", "tags", "custom.industry", ...
    Op op = Op::kEquals;
    std::vector<std::string> values;
};

// "The person has at least min_count engagements of `type` [for campaign_id] [within the last within_days days]".
// Types: the leads service's engagement types ("whitepaper_download", "webinar_attended", ...) and marketing's own
// touches ("email_opened", "email_clicked", "link_clicked", "form_submitted").
struct EngagementCondition {
    std::string type;
    std::string campaign_id;  // UUID or ""
    int within_days = 0;      // 0 = ever
    int min_count = 1;
};

struct Rule {
    enum class Kind { kAll, kAny, kNot, kField, kEngagement };
    Kind kind = Kind::kAll;
    std::vector<Rule> children;  // kAll, kAny: any number (1..50); kNot: exactly one
    FieldCondition field;
    EngagementCondition engagement;
    std::string path;        // the node's request path for violations, e.g. "segment.rule.all.rules[1].field"
    bool malformed = false;  // the request's node had no kind set (reported by ValidateRule)
};

inline constexpr int kMaxRuleDepth = 8;
inline constexpr int kMaxRuleNodes = 200;
inline constexpr int kMaxConditionValues = 100;

// The type of a known field, nullopt for an unknown one. "custom.<key>" (key [a-z][a-z0-9_]{0,62}) is a custom field
// of a contact or an attribute of a lead: text, compared as a number by the numeric operators when it is one.
std::optional<FieldType> FieldTypeOf(std::string_view field);

// Adds one violation per bad node (unknown field, operator not valid for the field's type, missing or malformed
// values, an empty group, too deep, too many nodes), named "<node path>.<field>" (e.g. "segment.rule.field.values").
void ValidateRule(const Rule& rule, common::Violations& violations);

// ---- evaluation of one person ----------------------------------------------------------------------------------

struct Engagement {
    std::string type;
    std::string campaign_id;  // "" when none
    std::int64_t micros = 0;
};

// The audience fields segmentation sees (the read model's row).
struct Person {
    std::string kind;  // "contact" or "lead"
    std::string email, given_name, family_name, job_title, company_name, country;
    std::string lead_source, lead_status, consent;  // lowercase words: "new", "opted_in", ...
    std::int64_t lead_score = 0;
    std::int64_t create_micros = 0;
    std::vector<std::string> tags;
    std::map<std::string, std::string> custom;
    std::vector<Engagement> engagements;
};

// The value of a text field of `person` ("" when unset); custom fields by "custom.<key>".
std::string TextValue(const Person& person, std::string_view field);

// Whether `person` matches the (validated) rule at `now_micros`.
bool Evaluate(const Rule& rule, const Person& person, std::int64_t now_micros);

// ---- SQL --------------------------------------------------------------------------------------------------------

// A predicate over the audience row `a` (columns of marketing's audience table) and engagements `e`, with its
// parameters numbered from first_param. `$<now_param>` must be bound to the evaluation instant in microseconds. The
// predicate is never NULL.
struct CompiledRule {
    std::string sql;
    std::vector<std::string> params;
};
CompiledRule CompileRule(const Rule& rule, int first_param, int now_param);

// A PostgreSQL array literal of text values ({"a","b\"c"}) for a text[] parameter.
std::string TextArrayLiteral(const std::vector<std::string>& values);

// A decimal number as the numeric operators accept it: -?[0-9]{1,15}(.[0-9]{1,6})?
bool IsDecimal(std::string_view text);

}  // namespace crm::marketing::domain
