// Pure rules of segments: validation naming every bad node, evaluation of one person, the SQL predicate's shape.
#include "domain/segment.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>

using namespace crm::marketing::domain;

namespace {

Rule Field(std::string field, Op op, std::vector<std::string> values, std::string path = "r") {
    Rule r;
    r.kind = Rule::Kind::kField;
    r.field = {std::move(field), op, std::move(values)};
    r.path = std::move(path);
    return r;
}

Rule Group(Rule::Kind kind, std::vector<Rule> children, std::string path = "r") {
    Rule r;
    r.kind = kind;
    r.children = std::move(children);
    r.path = std::move(path);
    return r;
}

Rule Engaged(std::string type, int within_days = 0, std::string campaign = "", int min_count = 1) {
    Rule r;
    r.kind = Rule::Kind::kEngagement;
    r.engagement = {std::move(type), std::move(campaign), within_days, min_count};
    r.path = "r";
    return r;
}

constexpr std::int64_t kDay = 86'400'000'000;
constexpr std::int64_t kNow = 20000 * kDay;

Person Ada() {
    Person p;
    p.kind = "lead";
    p.email = "ada@example.com";
    p.given_name = "Ada";
    p.country = "GB";
    p.lead_status = "new";
    p.consent = "opted_in";
    p.lead_score = 65;
    p.create_micros = kNow - 10 * kDay;
    p.tags = {"vip", "beta"};
    p.custom = {{"industry", "software"}, {"employees", "250"}};
    p.engagements = {{"whitepaper_download", "", kNow - 2 * kDay},
                     {"email_clicked", "11111111-1111-4111-8111-111111111111", kNow - 40 * kDay}};
    return p;
}

}  // namespace

TEST_CASE("segment rules: every bad node is named by its path") {
    Rule bad_field = Field("shoe_size", Op::kEquals, {"42"}, "segment.rule.all.rules[0]");
    Rule bad_op = Field("tags", Op::kGreater, {"1"}, "segment.rule.all.rules[1]");
    Rule no_values = Field("email", Op::kIn, {}, "segment.rule.all.rules[2]");
    Rule bad_number = Field("lead_score", Op::kGreaterOrEqual, {"sixty"}, "segment.rule.all.rules[3]");
    Rule bad_days = Field("create_time", Op::kWithinLastDays, {"0"}, "segment.rule.all.rules[4]");
    Rule bad_engagement = Engaged("Whitepaper!", -1, "nope", 0);
    bad_engagement.path = "segment.rule.all.rules[5]";
    Rule empty_not = Group(Rule::Kind::kNot, {}, "segment.rule.all.rules[6]");
    Rule unset;
    unset.malformed = true;
    unset.path = "segment.rule.all.rules[7]";
    Rule nul = Field("email", Op::kEquals, {std::string("a\0b", 3)}, "segment.rule.all.rules[8]");
    Rule exists_with_value = Field("email", Op::kExists, {"x"}, "segment.rule.all.rules[9]");
    const Rule root = Group(
        Rule::Kind::kAll,
        {bad_field, bad_op, no_values, bad_number, bad_days, bad_engagement, empty_not, unset, nul, exists_with_value},
        "segment.rule");
    crm::common::Violations v;
    ValidateRule(root, v);
    CHECK(v.Has("segment.rule.all.rules[0].field.field"));
    CHECK(v.Has("segment.rule.all.rules[1].field.op"));
    CHECK(v.Has("segment.rule.all.rules[2].field.values"));
    CHECK(v.Has("segment.rule.all.rules[3].field.values[0]"));
    CHECK(v.Has("segment.rule.all.rules[4].field.values[0]"));
    CHECK(v.Has("segment.rule.all.rules[5].engagement.type"));
    CHECK(v.Has("segment.rule.all.rules[5].engagement.campaign_id"));
    CHECK(v.Has("segment.rule.all.rules[5].engagement.within_days"));
    CHECK(v.Has("segment.rule.all.rules[5].engagement.min_count"));
    CHECK(v.Has("segment.rule.all.rules[6].not"));
    CHECK(v.Has("segment.rule.all.rules[7]"));
    CHECK(v.Has("segment.rule.all.rules[8].field.values[0]"));
    CHECK(v.Has("segment.rule.all.rules[9].field.values"));
    CHECK(v.size() == 13);

    crm::common::Violations empty;
    ValidateRule(Group(Rule::Kind::kAny, {}, "segment.rule"), empty);
    CHECK(empty.Has("segment.rule.any.rules"));

    // Depth and size limits.
    Rule deep = Field("email", Op::kExists, {}, "d");
    for (int i = 0; i < 9; ++i) deep = Group(Rule::Kind::kNot, {deep}, "d");
    crm::common::Violations too_deep;
    ValidateRule(deep, too_deep);
    CHECK(too_deep.Has("d"));

    crm::common::Violations fine;
    ValidateRule(Group(Rule::Kind::kAll, {Field("custom.industry", Op::kEquals, {"software"}),
                                          Field("custom.employees", Op::kGreater, {"100"}),
                                          Field("lead_score", Op::kIn, {"60", "65"}), Engaged("webinar_attended", 30)}),
                 fine);
    CHECK(fine.empty());
    CHECK_FALSE(FieldTypeOf("custom.Bad-Key"));
    CHECK(FieldTypeOf("custom.a1_b") == FieldType::kText);
}

TEST_CASE("segment rules: evaluation of one person") {
    const Person ada = Ada();
    auto eval = [&](const Rule& r) { return Evaluate(r, ada, kNow); };
    CHECK(eval(Field("email", Op::kEquals, {"ada@example.com"})));
    CHECK_FALSE(eval(Field("email", Op::kEquals, {"ADA@example.com"})));
    CHECK(eval(Field("country", Op::kIn, {"DE", "GB"})));
    CHECK(eval(Field("given_name", Op::kContains, {"d"})));
    CHECK(eval(Field("job_title", Op::kNotExists, {})));
    CHECK(eval(Field("job_title", Op::kNotEquals, {"CTO"})));
    CHECK(eval(Field("lead_score", Op::kGreaterOrEqual, {"60"})));
    CHECK_FALSE(eval(Field("lead_score", Op::kGreater, {"65"})));
    CHECK(eval(Field("lead_score", Op::kLess, {"65.5"})));
    CHECK(eval(Field("lead_score", Op::kIn, {"1", "65.000"})));
    CHECK(eval(Field("tags", Op::kEquals, {"vip"})));
    CHECK(eval(Field("tags", Op::kNotEquals, {"churned"})));
    CHECK(eval(Field("tags", Op::kIn, {"x", "beta"})));
    CHECK(eval(Field("custom.employees", Op::kGreater, {"99.5"})));
    CHECK_FALSE(eval(Field("custom.industry", Op::kGreater, {"1"})));  // not a number: no ordering
    CHECK(eval(Field("custom.industry", Op::kEquals, {"software"})));
    CHECK(eval(Field("custom.missing", Op::kNotExists, {})));
    CHECK(eval(Field("create_time", Op::kWithinLastDays, {"30"})));
    CHECK_FALSE(eval(Field("create_time", Op::kWithinLastDays, {"7"})));
    CHECK(eval(Field("create_time", Op::kAfter, {"2024-01-01"})));
    CHECK(eval(Engaged("whitepaper_download", 7)));
    CHECK_FALSE(eval(Engaged("email_clicked", 30)));
    CHECK(eval(Engaged("email_clicked", 0, "11111111-1111-4111-8111-111111111111")));
    CHECK_FALSE(eval(Engaged("email_clicked", 0, "22222222-2222-4222-8222-222222222222")));
    CHECK_FALSE(eval(Engaged("whitepaper_download", 0, "", 2)));
    const Rule both = Group(Rule::Kind::kAll, {Field("lead_score", Op::kGreaterOrEqual, {"60"}),
                                               Group(Rule::Kind::kNot, {Field("tags", Op::kEquals, {"vip"})})});
    CHECK_FALSE(eval(both));
    CHECK(eval(Group(Rule::Kind::kAny, {both, Engaged("whitepaper_download")})));
}

TEST_CASE("segment rules: the SQL predicate binds every value as a parameter") {
    const Rule rule = Group(Rule::Kind::kAll,
                            {Field("email", Op::kEquals, {"x'; DROP TABLE audience; --"}),
                             Field("custom.industry", Op::kIn, {"a\"b", "c,d"}), Engaged("whitepaper_download", 30)});
    const CompiledRule compiled =
        CompileRule(rule, 4, 2, [](std::string_view email) { return "index(" + std::string(email) + ")"; });
    CHECK(compiled.sql.find("DROP") == std::string::npos);
    CHECK(compiled.sql.find("a.email_index = $4") !=
          std::string::npos);                                     // the address's blind index, never the address
    CHECK(compiled.sql.find("$2::bigint") != std::string::npos);  // the instant of the evaluation
    // A custom field is sealed at rest: SQL cannot decide it (NULL in the predicate), the service does.
    CHECK_FALSE(compiled.exact);
    CHECK(compiled.sql.find("NULL::boolean") != std::string::npos);
    REQUIRE(compiled.params.size() == 3);
    CHECK(compiled.params[0] == "index(x'; DROP TABLE audience; --)");
    CHECK(compiled.params[1] == "whitepaper_download");
    CHECK(compiled.params[2] == std::to_string(30 * kDay));
    CHECK(compiled.leaf_in_sql == std::vector<bool>{true, false, true});
    CHECK(compiled.atoms.size() == 2);
}

TEST_CASE("segment rules: conditions on sealed fields are decided on the person, the others by SQL's atoms") {
    const Person ada = Ada();
    auto index = [](std::string_view email) { return "index(" + std::string(email) + ")"; };
    // The SQL-decided leaves of these rules, in depth-first order, as the database would answer them for Ada: the
    // answers come from Evaluate on the leaf alone, so EvaluateWithAtoms must agree with Evaluate on the whole rule.
    const std::vector<Rule> rules = {
        Group(Rule::Kind::kAll, {Field("given_name", Op::kContains, {"Ad"}), Engaged("whitepaper_download")}),
        Group(Rule::Kind::kAny,
              {Field("job_title", Op::kEquals, {"nobody"}), Field("lead_score", Op::kGreaterOrEqual, {"60"})}),
        Group(Rule::Kind::kNot, {Group(Rule::Kind::kAll, {Field("email", Op::kEquals, {"ada@example.com"}),
                                                          Field("custom.industry", Op::kEquals, {"software"})})}),
        Group(Rule::Kind::kAll, {Field("company_name", Op::kNotExists, {}), Field("given_name", Op::kIn, {"Ada", "X"}),
                                 Group(Rule::Kind::kNot, {Field("tags", Op::kEquals, {"vip"})})}),
    };
    for (std::size_t i = 0; i < rules.size(); ++i) {
        INFO("rule " << i);
        const Rule& rule = rules[i];
        const CompiledRule compiled = CompileRule(rule, 4, 2, index);
        CHECK_FALSE(compiled.exact);
        std::vector<bool> atoms;
        std::size_t leaf = 0;
        std::function<void(const Rule&)> collect = [&](const Rule& r) {
            if (r.kind == Rule::Kind::kField || r.kind == Rule::Kind::kEngagement) {
                if (compiled.leaf_in_sql.at(leaf++)) atoms.push_back(Evaluate(r, ada, kNow));
                return;
            }
            for (const auto& c : r.children) collect(c);
        };
        collect(rule);
        REQUIRE(atoms.size() == compiled.atoms.size());
        CHECK(EvaluateWithAtoms(rule, compiled, atoms, ada, kNow) == Evaluate(rule, ada, kNow));
        CHECK(Evaluate(rule, ada, kNow) == (i < 2));  // two rules match Ada, two do not
    }
    // E-mail equality goes through the index; without one it is left to the service too.
    const Rule email = Field("email", Op::kIn, {"ada@example.com", "b@example.com"});
    CHECK(CompileRule(email, 4, 2, index).exact);
    CHECK_FALSE(CompileRule(email, 4, 2).exact);
    CHECK(CompileRule(Field("family_name", Op::kNotExists, {}), 4, 2, index).exact);
    // Only SQL-decided leaves: the first rule with its contains-condition flipped to SQL's side.
    const Rule mixed = Group(Rule::Kind::kAll, {Field("family_name", Op::kContains, {"zzz"}), Engaged("x")});
    const CompiledRule m = CompileRule(mixed, 4, 2, index);
    CHECK_FALSE(EvaluateWithAtoms(mixed, m, {true}, ada, kNow));  // the name does not contain "zzz"
    const Rule either = Group(Rule::Kind::kAny, {Field("family_name", Op::kContains, {"zzz"}), Engaged("x")});
    const CompiledRule e = CompileRule(either, 4, 2, index);
    CHECK(EvaluateWithAtoms(either, e, {true}, ada, kNow));  // the engagement atom says yes
    CHECK_FALSE(EvaluateWithAtoms(either, e, {false}, ada, kNow));
}

TEST_CASE("decimals for the numeric operators") {
    CHECK(IsDecimal("0"));
    CHECK(IsDecimal("-12.5"));
    CHECK(IsDecimal("123456789012345.123456"));
    CHECK_FALSE(IsDecimal("1234567890123456"));
    CHECK_FALSE(IsDecimal("1.1234567"));
    CHECK_FALSE(IsDecimal("1."));
    CHECK_FALSE(IsDecimal(".5"));
    CHECK_FALSE(IsDecimal("1e3"));
    CHECK_FALSE(IsDecimal(""));
    CHECK(TextArrayLiteral({}) == "{}");
    CHECK(TextArrayLiteral({"a\\b"}) == R"({"a\\b"})");
}
