#include "domain/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <set>

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
        if (s.name.empty() || s.name.size() > kMaxNameLength) out.Add(at + ".name", "1 to 200 characters");
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
