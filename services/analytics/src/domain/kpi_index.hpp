#pragma once
// KpiIndex: what makes GetKpis cost what the period holds instead of what the tenant holds. Built from a Dataset's
// timelines (immutable, shared), it keeps, sorted by time:
//   * the close time of every closed segment (win rate, deal size, sales cycle: a deal counts in a period only
//     through a close time in it), the exit time of every ended stay (time in stage), the expected close date of
//     every open segment (forecast) and the creation time of every lead (lead KPIs): a period's candidates are a
//     range of each list, and each candidate is then judged exactly as the pass over every deal judges it (same
//     code: detail::KpiBuilder), so the answer is the same;
//   * the open pipeline as deltas: at each time a deal's state in force (the last version whose valid_from <= t)
//     starts or stops counting, -/+ its contribution (pipeline, stage, currency; owner, source, campaign; amount and
//     probability), with running sums per (pipeline, stage, currency) every `stride` deltas. The pipeline at as_of
//     is a checkpoint plus fewer than `stride` deltas; filtered by owner, source or campaign, the deltas up to as_of
//     (integer sums: exact either way). The stage name of a row is the one the last deal in id order states: when
//     a stage had a single name, that one; otherwise the deals that ever stated a name there are looked at from the
//     greatest id down until one is in the row at as_of.
// A view changed since the index was built carries the changed aggregates (Dataset::fresh_*, judged whole) and the
// index's replaced timelines (Dataset::stale, skipped, and taken out of the pipeline sums).
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "domain/kpis.hpp"

namespace crm::analytics::domain {

class KpiIndex {
  public:
    // Indexes data.leads and data.opportunities (and keeps them alive); data.fresh_* and data.stale are not read.
    explicit KpiIndex(const Dataset& data);
    // Estimated heap bytes.
    size_t bytes() const;
    Kpis Compute(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter) const;

  private:
    struct OppAt {
        Micros t;
        const OpportunityTimeline* opp;
    };
    struct StayAt {
        Micros exit;
        const OpportunityTimeline* opp;
        uint32_t first, exit_index;
    };
    struct LeadAt {
        Micros t;
        const LeadTimeline* lead;
    };
    struct Delta {
        Micros t;
        int64_t value;
        uint32_t group, owner, source, campaign;
        int32_t probability_bp;
        int8_t sign;
        bool named;
    };
    struct Acc {
        int64_t count = 0, value = 0, named = 0;
        __int128 weighted = 0;
        void Add(const Delta& d);
    };
    struct Group {
        std::string pipeline_id, stage_id, currency_code;
        std::vector<std::string> names;                       // distinct stated stage names
        std::vector<const OpportunityTimeline*> named_deals;  // deals that stated one here, in id order
    };

    void IndexDeal(const OpportunityTimeline& opp,
                   std::map<std::tuple<std::string, std::string, std::string>, uint32_t>& group_ids);
    uint32_t Attribute(const std::string& value);
    std::vector<Acc> PipelineSums(Micros as_of, const Filter& filter) const;

    std::vector<std::shared_ptr<const LeadTimeline>> leads_;
    std::vector<std::shared_ptr<const OpportunityTimeline>> opportunities_;
    std::vector<OppAt> closes_, expected_;
    std::vector<StayAt> exits_;
    std::vector<LeadAt> lead_creations_;
    std::vector<Delta> deltas_;
    std::vector<Group> groups_;
    std::unordered_map<std::string, uint32_t> attributes_;  // owner, source and campaign values -> ids
    size_t stride_ = 1024;
    std::vector<Acc> checkpoints_;  // row k (groups_.size() sums): deltas_[0, k * stride_)
};

Kpis ComputeKpisIndexed(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter);

}  // namespace crm::analytics::domain
