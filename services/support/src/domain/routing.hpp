#pragma once
// Pure rules of routing: which rule a new case matches, which member of a queue gets it (round-robin or least-loaded,
// respecting presence, skills, language and capacity), and the checks of queue members and rule conditions. No gRPC,
// protobuf or database here; unit-tested in tests/routing_test.cpp.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::support::domain {

inline constexpr int kDefaultCapacity = 10;
inline constexpr int kMaxCapacity = 1000;
inline constexpr std::size_t kMaxMembers = 200;
inline constexpr std::size_t kMaxSkills = 20;
inline constexpr std::size_t kMaxMemberLanguages = 20;
inline constexpr std::size_t kMaxRules = 100;
inline constexpr std::size_t kMaxRuleValues = 50;
inline constexpr std::size_t kMaxQueueName = 200;
inline constexpr std::size_t kMaxQueueDescription = 2000;
inline constexpr std::size_t kMaxRoutingNote = 500;

enum class Strategy { kRoundRobin, kLeastLoaded };

struct Member {
    std::string agent_id;
    std::vector<std::string> skills;     // keys, sorted, distinct
    std::vector<std::string> languages;  // canonical BCP 47 tags; empty = any
    int capacity = kDefaultCapacity;
};

// Trims and normalizes members in place (skills lowercased, sorted, deduplicated; languages canonical; capacity 0 ->
// the default) and returns every violation under `prefix` ("queue.members"): agent ids required, printable, at most
// 128 characters and distinct; skills keys; languages BCP 47; capacity 0..1000; list sizes.
common::Violations NormalizeMembers(std::vector<Member>& members, const std::string& prefix);

// The conditions of a routing rule, as text: channels and priorities by their names ("EMAIL", "HIGH"), categories
// folded for matching, languages canonical, tiers keys. Each empty list matches anything.
struct RuleConditions {
    std::vector<std::string> channels, categories, languages, priorities, customer_tiers, required_skills;
};
// Normalizes categories (trimmed, folded), languages, tiers and skills in place; violations under `prefix`
// ("routing_rules.rules[0]."): list sizes, text, shapes.
common::Violations NormalizeRule(RuleConditions& rule, const std::string& prefix);

// What routing looks at in a case.
struct CaseTraits {
    std::string channel, category, language, priority, customer_tier;
};
bool RuleMatches(const RuleConditions& rule, const CaseTraits& c);

// Whether an agent speaking `offered` serves a case in `wanted`: the same primary language subtag ("de-CH" and "de"),
// case-insensitively. An empty wanted language matches any agent.
bool LanguageMatches(std::string_view wanted, std::string_view offered);

// An agent's state as routing sees it (presence and the number of active cases assigned, over all queues).
struct AgentState {
    bool available = false;
    int load = 0;
};

// The member who gets a case: among the members that are available, below capacity, with every required skill and
// (when they list languages) the case's language, the next one after `last_agent` in member order (round-robin), or
// the one with the fewest active cases, ties in that same order (least-loaded). Agents missing from `agents` are away.
std::optional<std::string> PickAgent(const std::vector<Member>& members,
                                     const std::map<std::string, AgentState>& agents,
                                     const std::vector<std::string>& required_skills, std::string_view case_language,
                                     Strategy strategy, std::string_view last_agent);

}  // namespace crm::support::domain
