#pragma once
// Pipelines and the rules of an opportunity's life: stage layout, default pipeline, which moves are allowed.
#include <optional>
#include <string>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::sales::domain {

// Same numbering as crm.sales.v1.ForecastCategory.
enum class Category { kUnspecified = 0, kPipeline = 1, kBestCase = 2, kCommit = 3, kClosedWon = 4, kClosedLost = 5 };
// Same numbering as crm.sales.v1.OpportunityStatus.
enum class DealStatus { kUnspecified = 0, kOpen = 1, kWon = 2, kLost = 3 };

bool IsOpen(Category category);
const char* CategoryText(Category category);  // "PIPELINE", ... as stored
Category ParseCategory(const std::string& text);
const char* StatusText(DealStatus status);  // "OPEN", "WON", "LOST"
DealStatus ParseStatus(const std::string& text);

struct StageSpec {
    std::string id;  // empty for a new stage
    std::string name;
    int probability = 0;
    Category category = Category::kUnspecified;
};

inline constexpr int kMinStages = 5;
inline constexpr int kMaxStages = 7;
inline constexpr std::size_t kMaxNameLength = 200;
inline constexpr std::size_t kMaxTextLength = 4000;

// Stage layout rules: 5 to 7 stages; names 1..200 characters on one line (the kit's text rule), unique
// case-insensitively; probability 0..100; a category for every stage; open stages (pipeline, best case, commit) first,
// then exactly one closed-won stage (probability 100) and one closed-lost stage (probability 0) as the last two.
// Violations use `prefix`
// ("pipeline.stages") with the index, e.g. "pipeline.stages[2].probability".
void ValidateStages(const std::vector<StageSpec>& stages, const std::string& prefix, common::Violations& out);

// ---- stage changes of UpdatePipeline

// A stage as stored (not archived), in its current order.
struct CurrentStage {
    std::string id;
    std::string name;
    Category category = Category::kUnspecified;
    long open_opportunities = 0;  // open, non-deleted opportunities in the stage
};

// One stage an update removes, and where its open opportunities go ("" = nowhere given).
struct StageRemoval {
    std::string stage_id;
    std::string target_id;
};

// What an accepted update does to the stages.
struct StagePlan {
    std::vector<std::string> removed;  // stage ids to archive, in request order
    bool reordered = false;            // the kept stages changed their relative order
    bool added = false;
};

inline constexpr long kMaxMovedOpportunities = 1000;

// Checks a requested stage list (ids: existing stage or "" for a new one; already checked by ValidateStages and for
// UUID syntax) and its removals against the current stages. Field violations: "pipeline.stages[i].id" (unknown,
// archived or another pipeline's stage; listed twice), "pipeline.stages[i].forecast_category" (an existing stage
// switching between open and closed, or between won and lost), "pipeline.stages" (an existing stage neither listed
// nor removed), "removed_stages[j].stage_id" (unknown; also listed; removed twice; a closed stage),
// "removed_stages[j].move_open_opportunities_to_stage_id" (missing while the stage holds open opportunities; not a
// kept stage, e.g. a stage removed by the same update; a closed stage). Returns the plan when there are none.
StagePlan PlanStageChanges(const std::vector<CurrentStage>& current, const std::vector<StageSpec>& requested,
                           const std::vector<StageRemoval>& removals, common::Violations& out);

// The pipeline a tenant gets on first use.
std::string DefaultPipelineName();
std::vector<StageSpec> DefaultStages();

// The facts a stage rule needs about an opportunity.
struct DealState {
    DealStatus status = DealStatus::kOpen;
    bool deleted = false;
    bool has_close_date = false;
};

// Why a move to `target` is refused (FAILED_PRECONDITION reason and message), or nullopt when it is allowed:
// a closed or deleted deal does not move; MoveOpportunityStage targets open stages only (won/lost have their own
// RPCs); a commit stage needs an expected close date.
struct RuleBreak {
    std::string reason;
    std::string message;
};
std::optional<RuleBreak> CheckMove(const DealState& deal, Category target);
// Whether an open, non-deleted deal may be changed (updated, won, lost).
std::optional<RuleBreak> CheckOpen(const DealState& deal);
// A field update that leaves a deal in a commit stage without a close date.
std::optional<RuleBreak> CheckCommitDate(Category current, bool has_close_date);

}  // namespace crm::sales::domain
