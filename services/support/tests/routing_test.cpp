// Routing rules and agent choice (domain/routing.hpp): rule matching by each condition, round-robin and least-loaded
// choice respecting presence, capacity, skills and languages, and the checks of members and rule conditions.
#include "domain/routing.hpp"

#include <catch2/catch.hpp>

using namespace crm::support::domain;

namespace {

std::vector<Member> ThreeAgents() {
    return {{.agent_id = "ann", .skills = {"billing"}, .languages = {"en"}, .capacity = 2},
            {.agent_id = "bob", .skills = {"billing", "refunds"}, .languages = {"de", "en"}, .capacity = 2},
            {.agent_id = "cem", .skills = {}, .languages = {}, .capacity = 1}};
}

std::map<std::string, AgentState> AllAvailable(int ann = 0, int bob = 0, int cem = 0) {
    return {{"ann", {true, ann}}, {"bob", {true, bob}}, {"cem", {true, cem}}};
}

}  // namespace

TEST_CASE("routing: a rule matches when every non-empty condition holds") {
    const CaseTraits c{
        .channel = "EMAIL", .category = "Billing ", .language = "de-CH", .priority = "HIGH", .customer_tier = "gold"};
    CHECK(RuleMatches({}, c));  // no condition: everything
    CHECK(RuleMatches({.channels = {"CHAT", "EMAIL"}}, c));
    CHECK_FALSE(RuleMatches({.channels = {"CHAT"}}, c));
    CHECK(RuleMatches({.categories = {"billing"}}, c));  // folded: case and spaces do not matter
    CHECK_FALSE(RuleMatches({.categories = {"shipping"}}, c));
    CHECK(RuleMatches({.languages = {"de"}}, c));  // the primary subtag
    CHECK_FALSE(RuleMatches({.languages = {"fr"}}, c));
    CHECK(RuleMatches({.priorities = {"HIGH", "URGENT"}}, c));
    CHECK_FALSE(RuleMatches({.priorities = {"LOW"}}, c));
    CHECK(RuleMatches({.customer_tiers = {"gold"}}, c));
    CHECK_FALSE(RuleMatches({.customer_tiers = {"silver"}}, c));
    CHECK_FALSE(RuleMatches({.channels = {"EMAIL"}, .customer_tiers = {"silver"}}, c));  // all must hold
    // A rule asking for a language does not match a case without one.
    CHECK_FALSE(RuleMatches({.languages = {"en"}}, CaseTraits{.channel = "API"}));
}

TEST_CASE("routing: round-robin goes on after the last agent and skips whoever cannot take the case") {
    const auto members = ThreeAgents();
    CHECK(PickAgent(members, AllAvailable(), {}, "", Strategy::kRoundRobin, "") == "ann");
    CHECK(PickAgent(members, AllAvailable(), {}, "", Strategy::kRoundRobin, "ann") == "bob");
    CHECK(PickAgent(members, AllAvailable(), {}, "", Strategy::kRoundRobin, "bob") == "cem");
    CHECK(PickAgent(members, AllAvailable(), {}, "", Strategy::kRoundRobin, "cem") == "ann");  // wraps
    CHECK(PickAgent(members, AllAvailable(), {}, "", Strategy::kRoundRobin, "gone") == "ann");
    // Full (load at capacity), away, missing: skipped.
    CHECK(PickAgent(members, AllAvailable(0, 2, 0), {}, "", Strategy::kRoundRobin, "ann") == "cem");
    auto away = AllAvailable();
    away["bob"].available = false;
    CHECK(PickAgent(members, away, {}, "", Strategy::kRoundRobin, "ann") == "cem");
    CHECK(PickAgent(members, {{"cem", {true, 0}}}, {}, "", Strategy::kRoundRobin, "cem") == "cem");
    CHECK_FALSE(PickAgent(members, AllAvailable(2, 2, 1), {}, "", Strategy::kRoundRobin, ""));
    CHECK_FALSE(PickAgent(members, {}, {}, "", Strategy::kRoundRobin, ""));
    CHECK_FALSE(PickAgent({}, AllAvailable(), {}, "", Strategy::kRoundRobin, ""));
}

TEST_CASE("routing: skills and languages narrow the candidates") {
    const auto members = ThreeAgents();
    CHECK(PickAgent(members, AllAvailable(), {"refunds"}, "", Strategy::kRoundRobin, "") == "bob");
    CHECK(PickAgent(members, AllAvailable(), {"billing", "refunds"}, "", Strategy::kRoundRobin, "bob") == "bob");
    CHECK_FALSE(PickAgent(members, AllAvailable(), {"legal"}, "", Strategy::kRoundRobin, ""));
    // German: ann speaks only English; cem lists no languages (any).
    CHECK(PickAgent(members, AllAvailable(), {}, "de-AT", Strategy::kRoundRobin, "") == "bob");
    CHECK(PickAgent(members, AllAvailable(), {}, "de-AT", Strategy::kRoundRobin, "bob") == "cem");
    CHECK(PickAgent(members, AllAvailable(), {}, "fr", Strategy::kRoundRobin, "") == "cem");
    CHECK(LanguageMatches("EN-gb", "en"));
    CHECK(LanguageMatches("", "fr"));
    CHECK_FALSE(LanguageMatches("en", "fr"));
}

TEST_CASE("routing: least-loaded takes the fewest active cases, ties in round-robin order") {
    const auto members = ThreeAgents();
    CHECK(PickAgent(members, AllAvailable(1, 0, 0), {}, "", Strategy::kLeastLoaded, "") == "bob");
    CHECK(PickAgent(members, AllAvailable(1, 0, 0), {}, "", Strategy::kLeastLoaded, "bob") == "cem");
    CHECK(PickAgent(members, AllAvailable(1, 1, 1), {}, "", Strategy::kLeastLoaded, "ann") == "bob");  // cem is full
    CHECK(PickAgent(members, AllAvailable(0, 1, 0), {"billing"}, "", Strategy::kLeastLoaded, "") == "ann");
}

TEST_CASE("routing: members are normalized and every bad one is named") {
    std::vector<Member> good = {{.agent_id = " ann ",
                                 .skills = {"Billing", "billing", "refunds"},
                                 .languages = {"EN-gb", "de"},
                                 .capacity = 0}};
    CHECK(NormalizeMembers(good, "queue.members").empty());
    CHECK(good[0].agent_id == "ann");
    CHECK(good[0].skills == std::vector<std::string>{"billing", "refunds"});
    CHECK(good[0].languages == std::vector<std::string>{"de", "en-GB"});
    CHECK(good[0].capacity == kDefaultCapacity);

    std::vector<Member> bad = {{.agent_id = "", .skills = {"no spaces"}, .languages = {"english!"}, .capacity = -1},
                               {.agent_id = "ann", .capacity = 1001},
                               {.agent_id = "ann", .capacity = 1}};
    const auto v = NormalizeMembers(bad, "queue.members");
    for (const char* field :
         {"queue.members[0].agent_id", "queue.members[0].skills[0]", "queue.members[0].languages[0]",
          "queue.members[0].capacity", "queue.members[1].capacity", "queue.members[2].agent_id"}) {
        INFO(field);
        CHECK(v.Has(field));
    }
    CHECK_FALSE(v.Has("queue.members[1].agent_id"));
    std::vector<Member> many(kMaxMembers + 1);
    for (std::size_t i = 0; i < many.size(); ++i) many[i].agent_id = "a" + std::to_string(i);
    CHECK(NormalizeMembers(many, "queue.members").Has("queue.members"));
}

TEST_CASE("routing: rule conditions are normalized and checked") {
    RuleConditions r{.categories = {" Billing ", "billing"},
                     .languages = {"DE"},
                     .customer_tiers = {"Gold"},
                     .required_skills = {"refunds"}};
    CHECK(NormalizeRule(r, "r.").empty());
    CHECK(r.categories == std::vector<std::string>{"Billing", "billing"});  // kept as written, compared folded
    CHECK(r.languages == std::vector<std::string>{"de"});
    CHECK(r.customer_tiers == std::vector<std::string>{"gold"});
    RuleConditions bad{
        .categories = {std::string("a\0b", 3)}, .languages = {"x y"}, .customer_tiers = {"9"}, .required_skills = {""}};
    const auto v = NormalizeRule(bad, "r.");
    for (const char* field : {"r.categories[0]", "r.languages[0]", "r.customer_tiers[0]", "r.required_skills[0]"}) {
        INFO(field);
        CHECK(v.Has(field));
    }
}
