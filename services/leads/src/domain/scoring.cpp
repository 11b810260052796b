#include "domain/scoring.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"

namespace crm::leads::domain {
namespace {

constexpr std::size_t kMaxRules = 200;
constexpr std::size_t kMaxValues = 100;

bool ContainsIgnoreCase(const std::string& haystack, const std::string& needle) {
    return common::text::AsciiLower(haystack).find(common::text::AsciiLower(needle)) != std::string::npos;
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
    return common::text::AsciiLower(a) == common::text::AsciiLower(b);
}

bool Matches(const Rule& r, const LeadFields& lead) {
    const std::optional<std::string> value = FieldValue(lead, r.field);
    if (!value) return false;
    switch (r.op) {
        case Operator::kPresent:
            return !value->empty();
        case Operator::kEquals:
            return !r.values.empty() && EqualsIgnoreCase(*value, r.values[0]);
        case Operator::kOneOf:
            return std::any_of(r.values.begin(), r.values.end(),
                               [&](const std::string& x) { return EqualsIgnoreCase(*value, x); });
        case Operator::kContains:
            return !r.values.empty() && !value->empty() && ContainsIgnoreCase(*value, r.values[0]);
        case Operator::kAtLeast: {
            const auto number = ParseNumber(*value);
            const auto threshold = r.values.empty() ? std::nullopt : ParseNumber(r.values[0]);
            return number && threshold && *number >= *threshold;
        }
    }
    return false;
}

}  // namespace

std::optional<double> ParseNumber(const std::string& text) {
    if (text.empty() || text.size() > 40) return std::nullopt;
    size_t used = 0;
    try {
        const double value = std::stod(text, &used);
        if (used != text.size() || !std::isfinite(value)) return std::nullopt;
        return value;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool IsConditionField(const std::string& field) {
    static const std::set<std::string> kFields = {"given_name", "family_name",  "email",       "email_domain",
                                                  "phone",      "company_name", "job_title",   "country",
                                                  "region",     "source",       "campaign_id", "priority"};
    if (kFields.count(field)) return true;
    return field.rfind("attributes.", 0) == 0 && IsKey(field.substr(11));
}

std::optional<std::string> FieldValue(const LeadFields& f, const std::string& field) {
    if (field == "given_name") return f.given_name;
    if (field == "family_name") return f.family_name;
    if (field == "email") return f.email;
    if (field == "email_domain") return EmailDomain(f.email);
    if (field == "phone") return f.phone;
    if (field == "company_name") return f.company_name;
    if (field == "job_title") return f.job_title;
    if (field == "country") return f.country;
    if (field == "region") return f.region;
    if (field == "source") return f.source;
    if (field == "campaign_id") return f.campaign_id;
    if (field == "priority") return common::text::AsciiLower(PriorityText(f.priority));
    if (field.rfind("attributes.", 0) == 0) {
        auto it = f.attributes.find(field.substr(11));
        return it == f.attributes.end() ? std::string() : it->second;
    }
    return std::nullopt;
}

common::Violations ValidateRules(const RuleSet& rules, const std::string& prefix) {
    common::Violations v;
    common::CheckListSize(v, rules.rules.size(), prefix + "rules", kMaxRules);
    if (!(rules.half_life_days >= 0.1 && rules.half_life_days <= 3650)) {
        v.Add(prefix + "engagement_half_life_days", "must be between 0.1 and 3650");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < rules.rules.size(); ++i) {
        const Rule& r = rules.rules[i];
        const std::string p = prefix + "rules[" + std::to_string(i) + "].";
        if (common::CheckText(v, r.name, p + "name", common::kRequiredName) && !names.insert(r.name).second) {
            v.Add(p + "name", "names must be unique");
        }
        if (r.weight < -1000 || r.weight > 1000) v.Add(p + "weight", "must be between -1000 and 1000");
        if (r.is_engagement) {
            if (!IsKey(r.engagement_type)) v.Add(p + "engagement.type", "must match [a-z][a-z0-9_]{0,62}");
            continue;
        }
        if (!IsConditionField(r.field)) v.Add(p + "attribute.field", "unknown field " + Quoted(r.field));
        bool values_ok = common::CheckListSize(v, r.values.size(), p + "attribute.values", kMaxValues);
        for (size_t j = 0; j < r.values.size(); ++j) {
            values_ok &=
                common::CheckText(v, r.values[j], p + "attribute.values[" + std::to_string(j) + "]", common::kName);
        }
        if (!values_ok) continue;
        switch (r.op) {
            case Operator::kPresent:
                break;
            case Operator::kOneOf:
                if (r.values.empty()) v.Add(p + "attribute.values", "1 to 100 values");
                break;
            case Operator::kAtLeast:
                if (r.values.size() != 1 || !ParseNumber(r.values[0])) {
                    v.Add(p + "attribute.values", "exactly one decimal number");
                }
                break;
            case Operator::kEquals:
            case Operator::kContains:
                if (r.values.size() != 1 || r.values[0].empty()) {
                    v.Add(p + "attribute.values", "exactly one non-empty value");
                }
                break;
        }
    }
    return v;
}

Score ComputeScore(const RuleSet& rules, const LeadFields& lead, const std::vector<EngagementFact>& engagements) {
    Score out;
    double total = 0;
    for (const Rule& r : rules.rules) {
        double points = 0;
        if (r.is_engagement) {
            int count = 0;
            for (const EngagementFact& e : engagements) {
                if (e.type != r.engagement_type) continue;
                ++count;
                points += r.weight * std::pow(0.5, std::max(0.0, e.age_days) / rules.half_life_days);
            }
            if (count == 0) continue;
            out.reasons.push_back(
                {count == 1 ? r.name : r.name + " x" + std::to_string(count), std::round(points * 100) / 100});
        } else {
            if (!Matches(r, lead)) continue;
            points = r.weight;
            out.reasons.push_back({r.name, points});
        }
        total += points;
    }
    out.score = static_cast<int>(std::lround(total));
    std::stable_sort(out.reasons.begin(), out.reasons.end(), [](const ScoreReason& a, const ScoreReason& b) {
        return std::abs(a.points) > std::abs(b.points);
    });
    return out;
}

}  // namespace crm::leads::domain
