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
