// Unit tests of the leads domain: validation, lifecycle, rule scoring with decay, round-robin, form tokens.
#include <catch2/catch.hpp>
#include <cmath>

#include "domain/assignment.hpp"
#include "domain/lead.hpp"
#include "domain/scoring.hpp"
#include "domain/web_form.hpp"

using namespace crm::leads::domain;

namespace {
bool Has(const crm::common::Violations& v, const std::string& field) { return v.Has(field); }
}  // namespace

TEST_CASE("lead fields are normalized and every problem is reported", "[leads][domain]") {
    LeadFields f;
    f.given_name = "  Ada ";
    f.email = " Ada@Example.COM ";
    f.country = "de";
    f.source = " Web ";
    crm::common::Violations v = NormalizeLead(f, "lead.");
    CHECK(v.empty());
    CHECK(f.given_name == "Ada");
    CHECK(f.email == "ada@example.com");
    CHECK(f.country == "DE");
    CHECK(f.source == "web");

    LeadFields bad;
    bad.email = "not-an-email";
    bad.phone = "call me";
    bad.country = "Germany";
    bad.company_name = std::string(201, 'x');
    bad.attributes["Bad Key"] = "1";
    v = NormalizeLead(bad, "lead.");
    CHECK(Has(v, "lead.email"));
    CHECK(Has(v, "lead.phone"));
    CHECK(Has(v, "lead.country"));
    CHECK(Has(v, "lead.company_name"));
    CHECK(Has(v, "lead.attributes"));

    LeadFields empty;
    CHECK(Has(NormalizeLead(empty, "lead."), "lead.email"));
    CHECK(NormalizeLead(empty, "lead.", false).empty());
}

TEST_CASE("lifecycle transitions are checked", "[leads][domain]") {
    CHECK(TransitionAllowed(Status::kNew, Status::kWorking));
    CHECK(TransitionAllowed(Status::kNew, Status::kUnqualified));
    CHECK(TransitionAllowed(Status::kWorking, Status::kQualified));
    CHECK(TransitionAllowed(Status::kNurturing, Status::kWorking));
    CHECK(TransitionAllowed(Status::kQualified, Status::kNurturing));
    CHECK(TransitionAllowed(Status::kUnqualified, Status::kWorking));
    CHECK_FALSE(TransitionAllowed(Status::kUnqualified, Status::kQualified));
    CHECK_FALSE(TransitionAllowed(Status::kWorking, Status::kWorking));
    CHECK_FALSE(TransitionAllowed(Status::kWorking, Status::kNew));
    CHECK_FALSE(TransitionAllowed(Status::kQualified, Status::kConverted));
    CHECK_FALSE(TransitionAllowed(Status::kConverted, Status::kWorking));
    CHECK(ConvertAllowed(Status::kQualified, false));
    CHECK_FALSE(ConvertAllowed(Status::kWorking, false));
    CHECK(ConvertAllowed(Status::kWorking, true));
    CHECK_FALSE(ConvertAllowed(Status::kNew, true));
    CHECK_FALSE(ConvertAllowed(Status::kUnqualified, true));
}

TEST_CASE("rule scores add attribute weights and decayed engagement weights with reasons", "[leads][domain]") {
    RuleSet rules;
    rules.half_life_days = 10;
    rules.rules.push_back({.name = "software",
                           .field = "attributes.industry",
                           .op = Operator::kEquals,
                           .values = {"Software"},
                           .weight = 20});
    rules.rules.push_back(
        {.name = "big", .field = "attributes.employees", .op = Operator::kAtLeast, .values = {"500"}, .weight = 15});
    rules.rules.push_back({.name = "gmail",
                           .field = "email_domain",
                           .op = Operator::kOneOf,
                           .values = {"gmail.com", "yahoo.com"},
                           .weight = -10});
    rules.rules.push_back(
        {.name = "whitepaper", .is_engagement = true, .engagement_type = "whitepaper_download", .weight = 30});
    LeadFields lead;
    lead.email = "a@gmail.com";
    lead.attributes = {{"industry", "software"}, {"employees", "499"}};

    Score s = ComputeScore(rules, lead, {});
    CHECK(s.score == 10);  // 20 - 10
    REQUIRE(s.reasons.size() == 2);
    CHECK(s.reasons[0].rule == "software");
    CHECK(s.reasons[1].points == -10);

    // One download today (30) and one 10 days ago (half-life: 15) → 45; total 55.
    s = ComputeScore(rules, lead, {{"whitepaper_download", 0}, {"whitepaper_download", 10}, {"webinar", 0}});
    CHECK(s.score == 55);
    CHECK(s.reasons[0].rule == "whitepaper x2");
    CHECK(s.reasons[0].points == Approx(45));

    // Decay: 20 days later both downloads are worth a quarter and an eighth.
    s = ComputeScore(rules, lead, {{"whitepaper_download", 20}, {"whitepaper_download", 30}});
    REQUIRE(s.reasons.size() == 3);
    CHECK(s.reasons[0].rule == "software");  // 20 points now outweigh the decayed downloads
    CHECK(s.reasons[1].rule == "whitepaper x2");
    CHECK(s.reasons[1].points == Approx(30 * 0.25 + 30 * 0.125).margin(0.01));
    CHECK(s.score == 21);  // 20 - 10 + 11.25

    lead.attributes["employees"] = "500";
    CHECK(ComputeScore(rules, lead, {}).score == 25);
}

TEST_CASE("rule sets are validated", "[leads][domain]") {
    RuleSet rules;
    rules.half_life_days = 0;
    rules.rules.push_back({.name = "", .field = "nope", .op = Operator::kEquals, .values = {}, .weight = 5000});
    rules.rules.push_back({.name = "x", .field = "source", .op = Operator::kAtLeast, .values = {"abc"}, .weight = 1});
    rules.rules.push_back({.name = "x", .is_engagement = true, .engagement_type = "Bad Type", .weight = 1});
    const crm::common::Violations v = ValidateRules(rules, "scoring_rules.");
    CHECK(Has(v, "scoring_rules.engagement_half_life_days"));
    CHECK(Has(v, "scoring_rules.rules[0].name"));
    CHECK(Has(v, "scoring_rules.rules[0].attribute.field"));
    CHECK(Has(v, "scoring_rules.rules[0].weight"));
    CHECK(Has(v, "scoring_rules.rules[0].attribute.values"));
    CHECK(Has(v, "scoring_rules.rules[1].attribute.values"));
    CHECK(Has(v, "scoring_rules.rules[2].name"));
    CHECK(Has(v, "scoring_rules.rules[2].engagement.type"));
}

TEST_CASE("round-robin skips members at capacity and wraps around", "[leads][domain]") {
    std::vector<Member> members = {{"a", 0, 0}, {"b", 2, 2}, {"c", 1, 0}};
    CHECK(PickRoundRobin(members, 0) == 0u);
    CHECK(PickRoundRobin(members, 1) == 2u);  // b is full
    CHECK(PickRoundRobin(members, 5) == 2u);
    CHECK(PickRoundRobin(members, 3) == 0u);
    members[0].max_open_leads = 1;
    members[0].open_leads = 1;
    members[2].open_leads = 1;
    CHECK_FALSE(PickRoundRobin(members, 0).has_value());
    CHECK_FALSE(PickRoundRobin({}, 0).has_value());

    // N picks over K unlimited members: counts differ by at most one.
    std::vector<Member> team = {{"a"}, {"b"}, {"c"}, {"d"}};
    std::map<size_t, int> counts;
    std::int64_t position = 0;
    for (int i = 0; i < 23; ++i) {
        const auto pick = PickRoundRobin(team, position);
        REQUIRE(pick);
        ++counts[*pick];
        position = static_cast<std::int64_t>(*pick) + 1;
    }
    CHECK(counts[0] == 6);
    CHECK(counts[3] == 5);
}

TEST_CASE("form tokens verify only with the key and unchanged", "[leads][domain]") {
    const std::string key = "0123456789abcdef0123456789abcdef";
    const std::string token = SignFormToken({"acme", "contact-us", 1700000000123, "n1"}, key);
    const auto claims = VerifyFormToken(token, key);
    REQUIRE(claims);
    CHECK(claims->tenant == "acme");
    CHECK(claims->form_id == "contact-us");
    CHECK(claims->issued_unix_ms == 1700000000123);
    CHECK(claims->nonce == "n1");
    CHECK_FALSE(VerifyFormToken(token, "another key of the same length 0"));
    std::string tampered = token;
    tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
    CHECK_FALSE(VerifyFormToken(tampered, key));
    CHECK_FALSE(VerifyFormToken("garbage", key));
    CHECK_FALSE(VerifyFormToken("", key));
}
