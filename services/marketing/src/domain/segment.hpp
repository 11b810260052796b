#pragma once
// Dynamic segments as pure rules: a rule tree (ALL / ANY / NOT over field and engagement conditions), its validation
// (every bad node named by its path), its evaluation for one person (incremental membership, as events arrive) and
// its translation to a SQL predicate over the audience table (full evaluation, previews). The two must agree: the
// integration test compares membership kept incrementally with a full re-evaluation.
#include <cstdint>
#include <functional>
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

// The audience keeps these fields sealed at rest (email, given_name, family_name, job_title, company_name and every
// custom.<key>): SQL sees ciphertext, so conditions on them are decided by the service after opening the row, except
// EXISTS / NOT_EXISTS of a named field (an empty value stays empty when sealed) and e-mail EQUALS / NOT_EQUALS / IN,
// which compare the address's blind index.
bool IsSealedField(std::string_view field);

// The blind index of an address as the audience's email_index holds it.
using EmailIndexFn = std::function<std::string(std::string_view email)>;

// A predicate over the audience row `a` (columns of marketing's audience table) and engagements `e`, with its
// parameters numbered from first_param. `$<now_param>` must be bound to the evaluation instant in microseconds.
// Without conditions left to the service (`exact`), the predicate is never NULL and decides alone. Otherwise each such
// condition stands as NULL in it (three-valued logic): FALSE rows cannot match, TRUE rows match, and a NULL row is
// decided by EvaluateWithAtoms on the opened person, with the values of `atoms` (the SQL of the other conditions, in
// the rule's depth-first order) selected beside it. Without email_index, e-mail equality is left to the service.
struct CompiledRule {
    std::string sql;
    std::vector<std::string> params;
    bool exact = true;
    std::vector<std::string> atoms;  // boolean SQL expressions, never NULL
    std::vector<bool> leaf_in_sql;   // per condition (depth-first): decided by SQL (the next atom) or by the service
};
CompiledRule CompileRule(const Rule& rule, int first_param, int now_param, const EmailIndexFn& email_index = {});

// Whether `person` matches the rule, the conditions that SQL decides taken from `atoms` (the values of
// compiled.atoms for the person's row), the others evaluated on the person (its sealed fields opened).
bool EvaluateWithAtoms(const Rule& rule, const CompiledRule& compiled, const std::vector<bool>& atoms,
                       const Person& person, std::int64_t now_micros);

// A PostgreSQL array literal of text values ({"a","b\"c"}) for a text[] parameter.
std::string TextArrayLiteral(const std::vector<std::string>& values);

// A decimal number as the numeric operators accept it: -?[0-9]{1,15}(.[0-9]{1,6})?
bool IsDecimal(std::string_view text);

}  // namespace crm::marketing::domain
