// Unit tests of the pure SLA rules: target selection by priority and tier, warning instants, escalation rules,
// priority raise, policy checks, "HH:MM" and "YYYY-MM-DD" parsing.
#include "domain/sla.hpp"

#include <catch2/catch.hpp>

using namespace crm::support::domain;

TEST_CASE("sla: the target of a case is its priority's, for its tier before any tier") {
    SlaRules rules;
    rules.targets = {{.priority = Priority::kHigh, .first_response_seconds = 3600, .resolution_seconds = 86400},
                     {.priority = Priority::kHigh, .customer_tier = "gold", .first_response_seconds = 600},
                     {.priority = Priority::kLow, .customer_tier = "gold", .first_response_seconds = 7200}};
    CHECK(TargetFor(rules, Priority::kHigh, "gold")->first_response_seconds == 600);
    CHECK(TargetFor(rules, Priority::kHigh, "silver")->first_response_seconds == 3600);
    CHECK(TargetFor(rules, Priority::kHigh, "")->first_response_seconds == 3600);
    CHECK_FALSE(TargetFor(rules, Priority::kLow, "silver"));  // only a gold target for LOW
    CHECK_FALSE(TargetFor(rules, Priority::kUrgent, "gold"));
    CHECK(TargetSeconds(*TargetFor(rules, Priority::kHigh, ""), SlaMetric::kResolution) == 86400);
}

TEST_CASE("sla: warning instants and escalation rules") {
    CHECK(WarningSeconds(3600, 80) == 2880);
    CHECK(WarningSeconds(10, 99) == 9);
    CHECK(WarningSeconds(2, 1) == 1);   // at least one second
    CHECK(WarningSeconds(1, 80) == 0);  // a one-second target never warns
    SlaRules rules;
    rules.escalations = {{.metric = SlaMetric::kFirstResponse, .stage = SlaStage::kBreach},
                         {.metric = SlaMetric::kFirstResponse,
                          .stage = SlaStage::kBreach,
                          .action = EscalationAction::kReassign,
                          .assignee_id = "manager-1"},
                         {.metric = SlaMetric::kResolution, .stage = SlaStage::kWarning}};
    const auto breach = RulesFor(rules, SlaMetric::kFirstResponse, SlaStage::kBreach);
    REQUIRE(breach.size() == 2);
    CHECK(breach[1].assignee_id == "manager-1");
    CHECK(RulesFor(rules, SlaMetric::kFirstResponse, SlaStage::kWarning).empty());
    CHECK(Raised(Priority::kLow) == Priority::kNormal);
    CHECK(Raised(Priority::kHigh) == Priority::kUrgent);
    CHECK(Raised(Priority::kUrgent) == Priority::kUrgent);
}

TEST_CASE("sla: policy checks name every bad field") {
    SlaRules rules;
    rules.targets = {{.priority = Priority::kHigh, .customer_tier = "Gold!", .first_response_seconds = -1},
                     {.priority = Priority::kNormal, .resolution_seconds = 400LL * 86400},
                     {.priority = Priority::kNormal}};
    rules.warning_percent = 100;
    rules.escalations = {{.action = EscalationAction::kReassign}, {.assignee_id = "someone"}};
    const auto v = CheckSlaRules(rules, "sla_policy.");
    for (const char* field :
         {"sla_policy.targets[0].customer_tier", "sla_policy.targets[0].first_response_seconds",
          "sla_policy.targets[1].resolution_seconds", "sla_policy.targets[2].priority", "sla_policy.warning_percent",
          "sla_policy.escalations[0].assignee_id", "sla_policy.escalations[1].assignee_id"}) {
        INFO(field);
        CHECK(v.Has(field));
    }
    SlaRules good;
    good.targets = {{.priority = Priority::kHigh, .first_response_seconds = 60}};
    CHECK(CheckSlaRules(good, "").empty());
}

TEST_CASE("sla: clock times and dates") {
    CHECK(ParseClock("09:30") == 9 * 3600 + 30 * 60);
    CHECK(ParseClock("24:00") == 86400);
    CHECK_FALSE(ParseClock("24:01"));
    CHECK_FALSE(ParseClock("9:30"));
    CHECK_FALSE(ParseClock("09:60"));
    CHECK(FormatClock(61200) == "17:00");
    CHECK(ParseIsoDate("2028-02-29").has_value());
    CHECK_FALSE(ParseIsoDate("2026-02-29"));
    CHECK_FALSE(ParseIsoDate("2026-1-01"));
    CHECK(FormatIsoDate({2026, 12, 25}) == "2026-12-25");
}
