// Stage layout rules, the default pipeline, and the rules of moving and closing opportunities.
#include "domain/pipeline.hpp"

#include <catch2/catch.hpp>

#include "domain/dates.hpp"

using namespace crm::sales::domain;

namespace {
bool Has(const crm::common::Violations& v, const std::string& field) {
    for (const auto& f : v.list()) {
        if (f.field == field) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("pipeline: the default pipeline obeys the stage rules", "[sales][pipeline]") {
    crm::common::Violations v;
    ValidateStages(DefaultStages(), "pipeline.stages", v);
    CHECK(v.empty());
    CHECK(DefaultStages().size() == 6);
}

TEST_CASE("pipeline: stage layout violations name the offending field", "[sales][pipeline]") {
    auto stages = DefaultStages();
    SECTION("too few and too many") {
        crm::common::Violations few, many;
        ValidateStages({stages.begin(), stages.begin() + 4}, "p.stages", few);
        CHECK(Has(few, "p.stages"));
        auto more = stages;
        more.insert(more.begin(), {{"", "A", 5, Category::kPipeline}, {"", "B", 5, Category::kPipeline}});
        ValidateStages(more, "p.stages", many);
        CHECK(Has(many, "p.stages"));
    }
    SECTION("probability out of range, duplicate names, missing category") {
        stages[0].probability = 101;
        stages[1].name = "qualification";
        stages[2].category = Category::kUnspecified;
        crm::common::Violations v;
        ValidateStages(stages, "p.stages", v);
        CHECK(Has(v, "p.stages[0].probability"));
        CHECK(Has(v, "p.stages[1].name"));
        CHECK(Has(v, "p.stages[2].forecast_category"));
    }
    SECTION("closed stages must be the last two, with 100 and 0") {
        std::swap(stages[3], stages[4]);
        crm::common::Violations v;
        ValidateStages(stages, "p.stages", v);
        CHECK(Has(v, "p.stages[3].forecast_category"));
        CHECK(Has(v, "p.stages[4].forecast_category"));
        auto wrong = DefaultStages();
        wrong[4].probability = 90;
        crm::common::Violations w;
        ValidateStages(wrong, "p.stages", w);
        CHECK(Has(w, "p.stages[4].probability"));
        auto two_won = DefaultStages();
        two_won[5] = {"", "Won again", 100, Category::kClosedWon};
        crm::common::Violations t;
        ValidateStages(two_won, "p.stages", t);
        CHECK(Has(t, "p.stages"));
    }
}

TEST_CASE("pipeline: a closed deal does not move, commit needs a close date", "[sales][pipeline]") {
    DealState open{DealStatus::kOpen, false, false};
    CHECK_FALSE(CheckMove(open, Category::kBestCase));
    REQUIRE(CheckMove(open, Category::kCommit));
    CHECK(CheckMove(open, Category::kCommit)->reason == "CLOSE_DATE_REQUIRED");
    open.has_close_date = true;
    CHECK_FALSE(CheckMove(open, Category::kCommit));
    CHECK(CheckMove(open, Category::kClosedWon)->reason == "STAGE_CLOSED");
    DealState won{DealStatus::kWon, false, true};
    CHECK(CheckMove(won, Category::kPipeline)->reason == "OPPORTUNITY_CLOSED");
    CHECK(CheckOpen(won)->reason == "OPPORTUNITY_CLOSED");
    DealState lost{DealStatus::kLost, false, true};
    CHECK(CheckOpen(lost)->reason == "OPPORTUNITY_CLOSED");
    DealState deleted{DealStatus::kOpen, true, true};
    CHECK(CheckOpen(deleted)->reason == "OPPORTUNITY_DELETED");
    CHECK(CheckCommitDate(Category::kCommit, false));
    CHECK_FALSE(CheckCommitDate(Category::kBestCase, false));
}

TEST_CASE("dates: strict parsing and calendar periods", "[sales][dates]") {
    CHECK(ParseDate("2026-02-28"));
    CHECK_FALSE(ParseDate("2026-02-29"));
    CHECK(ParseDate("2024-02-29"));
    CHECK_FALSE(ParseDate("2026-13-01"));
    CHECK_FALSE(ParseDate("2026-1-01"));
    CHECK_FALSE(ParseDate("26-01-01x"));
    CHECK(ParseDate("1900-01-01"));
    CHECK_FALSE(ParseDate("1899-12-31"));
    CHECK(ParseDate("2199-12-31"));
    CHECK_FALSE(ParseDate("2200-01-01"));  // the suite's range, as for timestamps
    CHECK(FormatDate(*ParseDate("2026-12-01")) == "2026-12-01");
    const Period q = PeriodContaining(PeriodType::kQuarter, *ParseDate("2026-11-15"));
    CHECK(FormatDate(q.first) == "2026-10-01");
    CHECK(FormatDate(q.last) == "2026-12-31");
    const Period m = PeriodContaining(PeriodType::kMonth, *ParseDate("2024-02-10"));
    CHECK(FormatDate(m.first) == "2024-02-01");
    CHECK(FormatDate(m.last) == "2024-02-29");
    const Period q1 = PeriodContaining(PeriodType::kQuarter, *ParseDate("2027-03-31"));
    CHECK(FormatDate(q1.first) == "2027-01-01");
    CHECK(FormatDate(q1.last) == "2027-03-31");
}

namespace {
// The default layout as stored: ids s0..s5, open deal counts given per stage.
std::vector<CurrentStage> Current(std::vector<long> open = {0, 0, 0, 0, 0, 0}) {
    std::vector<CurrentStage> out;
    const auto stages = DefaultStages();
    for (std::size_t i = 0; i < stages.size(); ++i) {
        out.push_back({"s" + std::to_string(i), stages[i].name, stages[i].category, open[i]});
    }
    return out;
}
// The current stages as an update lists them (every one kept, in order).
std::vector<StageSpec> Kept() {
    auto specs = DefaultStages();
    for (std::size_t i = 0; i < specs.size(); ++i) specs[i].id = "s" + std::to_string(i);
    return specs;
}
}  // namespace

TEST_CASE("pipeline: adding, reordering and removing stages are planned from the current ones", "[sales][pipeline]") {
    crm::common::Violations v;
    SECTION("nothing structural") {
        const auto plan = PlanStageChanges(Current(), Kept(), {}, v);
        CHECK(v.empty());
        CHECK_FALSE(plan.added);
        CHECK_FALSE(plan.reordered);
        CHECK(plan.removed.empty());
    }
    SECTION("a new stage without an id is added") {
        auto specs = Kept();
        specs.insert(specs.begin() + 2, {"", "Demo", 35, Category::kBestCase});
        const auto plan = PlanStageChanges(Current(), specs, {}, v);
        CHECK(v.empty());
        CHECK(plan.added);
        CHECK_FALSE(plan.reordered);  // the kept stages keep their relative order
    }
    SECTION("a swap of two open stages is a reorder") {
        auto specs = Kept();
        std::swap(specs[0], specs[1]);
        const auto plan = PlanStageChanges(Current(), specs, {}, v);
        CHECK(v.empty());
        CHECK(plan.reordered);
    }
    SECTION("a removed stage with open deals moves them to a kept open stage") {
        auto specs = Kept();
        specs.erase(specs.begin() + 1);
        const auto plan = PlanStageChanges(Current({0, 3, 0, 0, 0, 0}), specs, {{"s1", "s2"}}, v);
        CHECK(v.empty());
        REQUIRE(plan.removed.size() == 1);
        CHECK(plan.removed[0] == "s1");
    }
    SECTION("an empty stage needs no target") {
        auto specs = Kept();
        specs.erase(specs.begin() + 1);
        PlanStageChanges(Current(), specs, {{"s1", ""}}, v);
        CHECK(v.empty());
    }
}

TEST_CASE("pipeline: bad stage changes name the offending field", "[sales][pipeline]") {
    crm::common::Violations v;
    SECTION("unknown and duplicate ids") {
        auto specs = Kept();
        specs[0].id = "elsewhere";
        specs[2].id = "s1";
        PlanStageChanges(Current(), specs, {{"s0", ""}, {"s2", ""}}, v);
        CHECK(Has(v, "pipeline.stages[0].id"));
        CHECK(Has(v, "pipeline.stages[2].id"));
    }
    SECTION("a stage left out without a removal") {
        auto specs = Kept();
        specs.erase(specs.begin());
        PlanStageChanges(Current(), specs, {}, v);
        CHECK(Has(v, "pipeline.stages"));
    }
    SECTION("removing without a target while the stage holds open deals") {
        auto specs = Kept();
        specs.erase(specs.begin() + 1);
        PlanStageChanges(Current({0, 2, 0, 0, 0, 0}), specs, {{"s1", ""}}, v);
        CHECK(Has(v, "removed_stages[0].move_open_opportunities_to_stage_id"));
    }
    SECTION("a target that is removed too, unknown or closed") {
        auto specs = Kept();
        specs.erase(specs.begin(), specs.begin() + 2);
        specs.insert(specs.begin(), {"", "New", 10, Category::kPipeline});
        PlanStageChanges(Current({1, 1, 0, 0, 0, 0}), specs, {{"s0", "s1"}, {"s1", "s4"}}, v);
        CHECK(Has(v, "removed_stages[0].move_open_opportunities_to_stage_id"));
        CHECK(Has(v, "removed_stages[1].move_open_opportunities_to_stage_id"));
        crm::common::Violations unknown;
        PlanStageChanges(Current({1, 1, 0, 0, 0, 0}), specs, {{"s0", "nope"}, {"s1", "s2"}}, unknown);
        CHECK(Has(unknown, "removed_stages[0].move_open_opportunities_to_stage_id"));
        CHECK_FALSE(Has(unknown, "removed_stages[1].move_open_opportunities_to_stage_id"));
    }
    SECTION("a removal that is also kept, removed twice, unknown, or a closed stage") {
        auto specs = Kept();
        specs.erase(specs.begin() + 1);
        PlanStageChanges(Current(), specs, {{"s0", ""}, {"s1", ""}, {"s1", ""}, {"zz", ""}, {"s4", ""}}, v);
        CHECK(Has(v, "removed_stages[0].stage_id"));
        CHECK_FALSE(Has(v, "removed_stages[1].stage_id"));
        CHECK(Has(v, "removed_stages[2].stage_id"));
        CHECK(Has(v, "removed_stages[3].stage_id"));
        CHECK(Has(v, "removed_stages[4].stage_id"));
    }
    SECTION("an existing stage cannot switch between open and closed, or won and lost") {
        auto specs = Kept();
        specs[1].category = Category::kCommit;  // open to open: fine
        specs[3].category = Category::kClosedWon;
        specs[4].category = Category::kClosedLost;
        specs[5].category = Category::kClosedWon;
        PlanStageChanges(Current(), specs, {}, v);
        CHECK_FALSE(Has(v, "pipeline.stages[1].forecast_category"));
        CHECK(Has(v, "pipeline.stages[3].forecast_category"));
        CHECK(Has(v, "pipeline.stages[4].forecast_category"));
        CHECK(Has(v, "pipeline.stages[5].forecast_category"));
    }
    SECTION("too many open deals to move at once") {
        auto specs = Kept();
        specs.erase(specs.begin() + 1);
        PlanStageChanges(Current({0, kMaxMovedOpportunities + 1, 0, 0, 0, 0}), specs, {{"s1", "s0"}}, v);
        CHECK(Has(v, "removed_stages[0].stage_id"));
    }
}
