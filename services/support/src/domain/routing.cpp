#include "domain/routing.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/case.hpp"

namespace crm::support::domain {
namespace {

std::string Index(const std::string& prefix, std::size_t i) { return prefix + "[" + std::to_string(i) + "]"; }

// Skills or tiers: keys, lowercased, sorted and distinct.
void NormalizeKeys(std::vector<std::string>& keys, const std::string& field, std::size_t max_items,
                   common::Violations& v) {
    common::CheckListSize(v, keys.size(), field, max_items);
    std::set<std::string> out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const std::string key = common::text::AsciiLower(common::text::Trim(keys[i]));
        if (!common::CheckText(v, key, Index(field, i), {.max_chars = 63, .required = true})) continue;
        if (!IsKey(key)) {
            v.Add(Index(field, i), "must match [a-z][a-z0-9_]{0,62}");
            continue;
        }
        out.insert(key);
    }
    keys.assign(out.begin(), out.end());
}

void NormalizeLanguages(std::vector<std::string>& tags, const std::string& field, std::size_t max_items,
                        common::Violations& v) {
    common::CheckListSize(v, tags.size(), field, max_items);
    std::set<std::string> out;
    for (std::size_t i = 0; i < tags.size(); ++i) {
        const std::string tag = common::text::Trim(tags[i]);
        if (!common::CheckText(v, tag, Index(field, i), {.max_chars = kMaxLanguage, .required = true})) continue;
        if (!IsLanguageTag(tag)) {
            v.Add(Index(field, i), "must be a BCP 47 language tag such as \"en\" or \"de-CH\"");
            continue;
        }
        out.insert(CanonicalLanguageTag(tag));
    }
    tags.assign(out.begin(), out.end());
}

std::string PrimarySubtag(std::string_view tag) {
    return common::text::AsciiLower(tag.substr(0, std::min(tag.find('-'), tag.size())));
}

bool AnyOf(const std::vector<std::string>& values, const std::string& value) {
    return values.empty() || std::find(values.begin(), values.end(), value) != values.end();
}

bool HasAll(const std::vector<std::string>& have, const std::vector<std::string>& need) {
    return std::all_of(need.begin(), need.end(),
                       [&](const std::string& s) { return std::find(have.begin(), have.end(), s) != have.end(); });
}

}  // namespace

common::Violations NormalizeMembers(std::vector<Member>& members, const std::string& prefix) {
    common::Violations v;
    common::CheckListSize(v, members.size(), prefix, kMaxMembers);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < members.size(); ++i) {
        Member& m = members[i];
        const std::string at = Index(prefix, i);
        m.agent_id = common::text::Trim(m.agent_id);
        if (common::CheckToken(v, m.agent_id, at + ".agent_id", kMaxUserId, /*required=*/true) &&
            !seen.insert(m.agent_id).second) {
            v.Add(at + ".agent_id", "the agent is already a member of the queue");
        }
        NormalizeKeys(m.skills, at + ".skills", kMaxSkills, v);
        NormalizeLanguages(m.languages, at + ".languages", kMaxMemberLanguages, v);
        if (m.capacity == 0) m.capacity = kDefaultCapacity;
        if (m.capacity < 1 || m.capacity > kMaxCapacity) {
            v.Add(at + ".capacity", "must be between 1 and " + std::to_string(kMaxCapacity) + " (0 = 10)");
        }
    }
    return v;
}

common::Violations NormalizeRule(RuleConditions& r, const std::string& prefix) {
    common::Violations v;
    common::CheckListSize(v, r.channels.size(), prefix + "channels", kMaxRuleValues);
    common::CheckListSize(v, r.priorities.size(), prefix + "priorities", kMaxRuleValues);
    common::CheckListSize(v, r.categories.size(), prefix + "categories", kMaxRuleValues);
    std::set<std::string> categories;
    for (std::size_t i = 0; i < r.categories.size(); ++i) {
        const std::string category = common::text::Trim(r.categories[i]);
        if (common::CheckText(v, category, Index(prefix + "categories", i),
                              {.max_chars = kMaxShortText, .required = true})) {
            categories.insert(category);
        }
    }
    r.categories.assign(categories.begin(), categories.end());
    NormalizeLanguages(r.languages, prefix + "languages", kMaxRuleValues, v);
    NormalizeKeys(r.customer_tiers, prefix + "customer_tiers", kMaxRuleValues, v);
    NormalizeKeys(r.required_skills, prefix + "required_skills", kMaxSkills, v);
    return v;
}

bool LanguageMatches(std::string_view wanted, std::string_view offered) {
    return wanted.empty() || PrimarySubtag(wanted) == PrimarySubtag(offered);
}

bool RuleMatches(const RuleConditions& rule, const CaseTraits& c) {
    if (!AnyOf(rule.channels, c.channel) || !AnyOf(rule.priorities, c.priority)) return false;
    if (!AnyOf(rule.customer_tiers, c.customer_tier)) return false;
    if (!rule.categories.empty()) {
        const std::string category = common::text::FoldForMatching(c.category);
        if (std::none_of(rule.categories.begin(), rule.categories.end(),
                         [&](const std::string& x) { return common::text::FoldForMatching(x) == category; })) {
            return false;
        }
    }
    if (!rule.languages.empty()) {
        if (c.language.empty()) return false;
        if (std::none_of(rule.languages.begin(), rule.languages.end(),
                         [&](const std::string& l) { return LanguageMatches(c.language, l); })) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> PickAgent(const std::vector<Member>& members,
                                     const std::map<std::string, AgentState>& agents,
                                     const std::vector<std::string>& required_skills, std::string_view case_language,
                                     Strategy strategy, std::string_view last_agent) {
    if (members.empty()) return std::nullopt;
    // Member order starting after the last assigned agent (from the first when that one is no member any more).
    std::size_t start = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (members[i].agent_id == last_agent) start = i + 1;
    }
    const Member* best = nullptr;
    int best_load = 0;
    for (std::size_t k = 0; k < members.size(); ++k) {
        const Member& m = members[(start + k) % members.size()];
        const auto it = agents.find(m.agent_id);
        if (it == agents.end() || !it->second.available || it->second.load >= m.capacity) continue;
        if (!HasAll(m.skills, required_skills)) continue;
        if (!m.languages.empty() && !case_language.empty() &&
            std::none_of(m.languages.begin(), m.languages.end(),
                         [&](const std::string& l) { return LanguageMatches(case_language, l); })) {
            continue;
        }
        if (strategy == Strategy::kRoundRobin) return m.agent_id;
        if (best == nullptr || it->second.load < best_load) {
            best = &m;
            best_load = it->second.load;
        }
    }
    if (best == nullptr) return std::nullopt;
    return best->agent_id;
}

}  // namespace crm::support::domain
