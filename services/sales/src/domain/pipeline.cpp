#include "domain/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "crm/common/validate.hpp"

namespace crm::sales::domain {

bool IsOpen(Category c) { return c == Category::kPipeline || c == Category::kBestCase || c == Category::kCommit; }

const char* CategoryText(Category c) {
    switch (c) {
        case Category::kPipeline:
            return "PIPELINE";
        case Category::kBestCase:
            return "BEST_CASE";
        case Category::kCommit:
            return "COMMIT";
        case Category::kClosedWon:
            return "CLOSED_WON";
        case Category::kClosedLost:
            return "CLOSED_LOST";
        default:
            return "UNSPECIFIED";
    }
}

Category ParseCategory(const std::string& t) {
    if (t == "PIPELINE") return Category::kPipeline;
    if (t == "BEST_CASE") return Category::kBestCase;
    if (t == "COMMIT") return Category::kCommit;
    if (t == "CLOSED_WON") return Category::kClosedWon;
    if (t == "CLOSED_LOST") return Category::kClosedLost;
    return Category::kUnspecified;
}

const char* StatusText(DealStatus s) {
    switch (s) {
        case DealStatus::kOpen:
            return "OPEN";
        case DealStatus::kWon:
            return "WON";
        case DealStatus::kLost:
            return "LOST";
        default:
            return "UNSPECIFIED";
    }
}

DealStatus ParseStatus(const std::string& t) {
    if (t == "OPEN") return DealStatus::kOpen;
    if (t == "WON") return DealStatus::kWon;
    if (t == "LOST") return DealStatus::kLost;
    return DealStatus::kUnspecified;
}

void ValidateStages(const std::vector<StageSpec>& stages, const std::string& prefix, common::Violations& out) {
    const int n = static_cast<int>(stages.size());
    if (n < kMinStages || n > kMaxStages) {
        out.Add(prefix, "a pipeline has 5 to 7 stages, got " + std::to_string(n));
        return;
    }
    std::set<std::string> names;
    for (int i = 0; i < n; ++i) {
        const StageSpec& s = stages[static_cast<std::size_t>(i)];
        const std::string at = prefix + "[" + std::to_string(i) + "]";
        common::CheckText(out, s.name, at + ".name", {.max_chars = kMaxNameLength, .required = true});
        std::string folded = s.name;
        std::transform(folded.begin(), folded.end(), folded.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!s.name.empty() && !names.insert(folded).second) out.Add(at + ".name", "stage names must be unique");
        if (s.probability < 0 || s.probability > 100) out.Add(at + ".probability", "0 to 100");
        const bool last_two = i >= n - 2;
        if (s.category == Category::kUnspecified) {
            out.Add(at + ".forecast_category", "required");
        } else if (last_two && IsOpen(s.category)) {
            out.Add(at + ".forecast_category", "the last two stages are the closed-won and closed-lost stages");
        } else if (!last_two && !IsOpen(s.category)) {
            out.Add(at + ".forecast_category", "closed stages come last; open stages are pipeline, best case, commit");
        }
        if (s.category == Category::kClosedWon && s.probability != 100) {
            out.Add(at + ".probability", "a closed-won stage has probability 100");
        }
        if (s.category == Category::kClosedLost && s.probability != 0) {
            out.Add(at + ".probability", "a closed-lost stage has probability 0");
        }
    }
    const Category a = stages[static_cast<std::size_t>(n - 2)].category;
    const Category b = stages[static_cast<std::size_t>(n - 1)].category;
    const bool closed_pair = (a == Category::kClosedWon && b == Category::kClosedLost) ||
                             (a == Category::kClosedLost && b == Category::kClosedWon);
    if (!closed_pair && !IsOpen(a) && !IsOpen(b) && a != Category::kUnspecified && b != Category::kUnspecified) {
        out.Add(prefix, "exactly one closed-won and one closed-lost stage");
    }
}

StagePlan PlanStageChanges(const std::vector<CurrentStage>& current, const std::vector<StageSpec>& requested,
                           const std::vector<StageRemoval>& removals, common::Violations& out) {
    StagePlan plan;
    std::map<std::string, const CurrentStage*> by_id;
    for (const auto& c : current) by_id[c.id] = &c;
    auto closed_kind = [](Category c) { return IsOpen(c) ? Category::kPipeline : c; };

    // The requested list: known ids, each once, categories that keep their kind.
    std::map<std::string, std::size_t> kept;  // id -> index in `requested`
    for (std::size_t i = 0; i < requested.size(); ++i) {
        const StageSpec& s = requested[i];
        const std::string at = "pipeline.stages[" + std::to_string(i) + "]";
        if (s.id.empty()) {
            plan.added = true;
            continue;
        }
        const auto found = by_id.find(s.id);
        if (found == by_id.end()) {
            out.Add(at + ".id", "not a current stage of this pipeline (leave the id empty to add a stage)");
            continue;
        }
        if (!kept.emplace(s.id, i).second) {
            out.Add(at + ".id", "the stage is listed twice");
            continue;
        }
        if (s.category != Category::kUnspecified && closed_kind(s.category) != closed_kind(found->second->category)) {
            out.Add(at + ".forecast_category", IsOpen(found->second->category)
                                                   ? "an open stage stays open (pipeline, best case or commit)"
                                                   : "the closed-won and closed-lost stages keep their category");
        }
    }

    // Removals: current, not kept, once each, open stages only, with a kept open target when they hold open deals.
    std::set<std::string> removed;
    for (const auto& r : removals) removed.insert(r.stage_id);
    std::set<std::string> seen;
    for (std::size_t j = 0; j < removals.size(); ++j) {
        const StageRemoval& r = removals[j];
        const std::string at = "removed_stages[" + std::to_string(j) + "]";
        const auto found = by_id.find(r.stage_id);
        if (found == by_id.end()) {
            out.Add(at + ".stage_id", "not a current stage of this pipeline");
        } else if (kept.contains(r.stage_id)) {
            out.Add(at + ".stage_id", "the stage is also listed in pipeline.stages; a stage is either kept or removed");
        } else if (!seen.insert(r.stage_id).second) {
            out.Add(at + ".stage_id", "the stage is removed twice");
        } else if (!IsOpen(found->second->category)) {
            out.Add(at + ".stage_id", "the closed-won and closed-lost stages cannot be removed");
        }
        const std::string target_field = at + ".move_open_opportunities_to_stage_id";
        if (r.target_id.empty()) {
            if (found != by_id.end() && found->second->open_opportunities > 0) {
                out.Add(target_field, "the stage holds " + std::to_string(found->second->open_opportunities) +
                                          " open opportunities: name the stage they move to");
            }
            continue;
        }
        if (removed.contains(r.target_id)) {
            out.Add(target_field, "the target stage is removed by this update");
        } else if (const auto k = kept.find(r.target_id); k == kept.end()) {
            out.Add(target_field, "must be a stage the update keeps (listed by id in pipeline.stages)");
        } else if (!IsOpen(requested[k->second].category)) {
            out.Add(target_field, "must be an open stage (use WinOpportunity or LoseOpportunity to close deals)");
        }
        if (found != by_id.end() && found->second->open_opportunities > kMaxMovedOpportunities) {
            out.Add(at + ".stage_id", "the stage holds more than " + std::to_string(kMaxMovedOpportunities) +
                                          " open opportunities; move some with MoveOpportunityStage first");
        }
    }

    // Every current stage is either kept or removed.
    for (const auto& c : current) {
        if (!kept.contains(c.id) && !removed.contains(c.id)) {
            out.Add("pipeline.stages", "the stage " + c.id + " (" + c.name +
                                           ") is missing: list it to keep it, or name it in removed_stages");
        }
    }
    for (const auto& r : removals) {
        if (by_id.contains(r.stage_id) && !kept.contains(r.stage_id)) plan.removed.push_back(r.stage_id);
    }
    // Reordered: the kept stages, in request order, are not in their current relative order.
    std::vector<std::string> before, after;
    for (const auto& c : current) {
        if (kept.contains(c.id)) before.push_back(c.id);
    }
    for (std::size_t i = 0; i < requested.size(); ++i) {
        const auto k = kept.find(requested[i].id);
        if (k != kept.end() && k->second == i) after.push_back(requested[i].id);
    }
    plan.reordered = before != after;
    return plan;
}

std::string DefaultPipelineName() { return "Sales pipeline"; }

std::vector<StageSpec> DefaultStages() {
    return {{"", "Qualification", 10, Category::kPipeline}, {"", "Needs analysis", 25, Category::kPipeline},
            {"", "Proposal", 50, Category::kBestCase},      {"", "Negotiation", 80, Category::kCommit},
            {"", "Closed won", 100, Category::kClosedWon},  {"", "Closed lost", 0, Category::kClosedLost}};
}

std::optional<RuleBreak> CheckOpen(const DealState& deal) {
    if (deal.deleted) return RuleBreak{"OPPORTUNITY_DELETED", "the opportunity is deleted"};
    if (deal.status != DealStatus::kOpen) {
        return RuleBreak{"OPPORTUNITY_CLOSED", "the opportunity is closed (won or lost) and cannot change"};
    }
    return std::nullopt;
}

std::optional<RuleBreak> CheckMove(const DealState& deal, Category target) {
    if (auto closed = CheckOpen(deal)) return closed;
    if (!IsOpen(target)) {
        return RuleBreak{"STAGE_CLOSED", "use WinOpportunity or LoseOpportunity to close an opportunity"};
    }
    return CheckCommitDate(target, deal.has_close_date);
}

std::optional<RuleBreak> CheckCommitDate(Category current, bool has_close_date) {
    if (current == Category::kCommit && !has_close_date) {
        return RuleBreak{"CLOSE_DATE_REQUIRED", "a commit-stage opportunity needs an expected close date"};
    }
    return std::nullopt;
}

}  // namespace crm::sales::domain
