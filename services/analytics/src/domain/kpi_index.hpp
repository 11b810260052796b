#pragma once
// KpiIndex: what makes GetKpis cost what the period holds instead of what the tenant holds. Built from a Dataset's
// timelines (immutable, shared). A deal's or lead's state "at t" is its segment in force at t (the last version whose
// valid_from <= t), so each timeline is cut into intervals [from, to) with one segment in force; the index keeps, as
// compact entries sorted by time (no timeline is read while answering):
//   * closed states by their close time (win rate, deal size, sales cycle: a deal counts in a period when the state
//     in force at the cutoff is closed with a close time in the period), open states by their expected close date
//     (forecast: in force at the period's start), ended stays by their exit (time in stage), lead states by the
//     lead's creation (the cohort, judged by the state in force at the cutoff): a period's candidates are a range of
//     each list, and an entry counts when its interval holds the time the KPI judges by and it matches the filter
//     (interned ids); the stage name of time in stage is the last stated in (deal id, stay) order, as before;
//   * the open pipeline as deltas: at each time a deal's state in force starts or stops counting, -/+ its
//     contribution (pipeline, stage, currency; owner, source, campaign; amount and probability), with running sums
//     per (pipeline, stage, currency) every `stride` deltas. The pipeline at as_of is a checkpoint plus fewer than
//     `stride` deltas; filtered by owner, source or campaign, the deltas up to as_of (integer sums: exact either way).
//     The stage name of a row is the one the last deal in id order states: when a stage had a single name, that one;
//     otherwise the deals that ever stated a name there are looked at from the greatest id down until one is in the
//     row at as_of.
// A view changed since the index was built carries the changed aggregates (Dataset::fresh_*, judged whole by the pass
// over every aggregate's code, detail::KpiBuilder) and the index's replaced timelines (Dataset::stale: their entries
// are skipped, their pipeline contribution taken out). tests/kpi_index_test.cpp compares it with ComputeKpisByScan.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "domain/kpis.hpp"

namespace crm::analytics::domain {

namespace detail {
class KpiBuilder;
}

class KpiIndex {
  public:
    // Indexes data.leads and data.opportunities (and keeps them alive); data.fresh_* and data.stale are not read.
    explicit KpiIndex(const Dataset& data);
    // Estimated heap bytes.
    size_t bytes() const;
    Kpis Compute(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter) const;

  private:
    // What a contribution is filtered by (interned ids; deleted deals match no filter).
    struct Attrs {
        uint32_t pipeline = 0, owner = 0, source = 0, campaign = 0;
        bool deleted = false;
    };
    // A closed state of a deal, in force over [from, to): counts when in force at the cutoff and t (its close time)
    // lies in the period.
    struct ClosedAt {
        Micros t, from, to, created;
        int64_t amount;
        uint32_t currency;
        bool won;
        Attrs attrs;
        const void* timeline;
    };
    // An open state with an expected close date t, in force over [from, to): forecast of a period holding t whose
    // start it is in force at.
    struct ForecastAt {
        Micros t, from, to;
        int64_t amount;
        int32_t probability_bp;
        uint32_t currency;
        Attrs attrs;
        const void* timeline;
    };
    // An ended stay: counts in a period holding its exit (judged by the state it ended in).
    struct StayAt {
        Micros exit, start;
        uint32_t stage, name, rank, first;  // stage key, stated name (kNone: none), deal's position in id order
        Attrs attrs;
        const OpportunityTimeline* opp;
    };
    // A lead's state in force over [from, to), for the cohort of a period holding t (its creation).
    struct LeadAt {
        Micros t, from, to, conversion, response, due;
        uint32_t source, campaign, owner;
        bool converted, responded, has_due;
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

    void IndexDeal(const OpportunityTimeline& opp, uint32_t rank,
                   std::map<std::tuple<std::string, std::string, std::string>, uint32_t>& group_ids,
                   std::map<std::pair<std::string, std::string>, uint32_t>& stage_ids);
    void IndexLead(const LeadTimeline& lead);
    uint32_t Intern(const std::string& value);
    Attrs AttrsOf(const OpportunityState& s);
    std::vector<Acc> PipelineSums(Micros as_of, const Filter& filter) const;
    void AddPipeline(detail::KpiBuilder& b, const Dataset& data, const Filter& filter) const;
    void AddStays(detail::KpiBuilder& b, const Dataset& data, const Filter& filter) const;

    std::vector<std::shared_ptr<const LeadTimeline>> leads_;
    std::vector<std::shared_ptr<const OpportunityTimeline>> opportunities_;
    std::vector<ClosedAt> closes_;
    std::vector<ForecastAt> expected_;
    std::vector<StayAt> exits_;
    std::vector<LeadAt> lead_states_;
    std::vector<Delta> deltas_;
    std::vector<Group> groups_;
    std::vector<std::pair<std::string, std::string>> stages_;  // stage key -> (pipeline, stage)
    std::unordered_map<std::string, uint32_t> ids_;            // interned strings
    std::vector<std::string> strings_;                         // id -> string
    size_t stride_ = 1024;
    std::vector<Acc> checkpoints_;  // row k (groups_.size() sums): deltas_[0, k * stride_)
};

Kpis ComputeKpisIndexed(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter);

}  // namespace crm::analytics::domain
