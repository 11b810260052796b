#pragma once
// What ComputeKpis (kpis.hpp) adds up, one deal, stay or lead at a time, and the rows made of the sums. Shared by the
// pass over every aggregate (ComputeKpisByScan) and the indexed pass (kpi_index.hpp), which differ only in which
// aggregates they hand over: so both give the same answer by construction. Internal to domain/.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "domain/kpis.hpp"

namespace crm::analytics::domain::detail {

bool Matches(const Filter& f, const OpportunityState& s);
bool Matches(const Filter& f, const LeadState& s);
inline bool InPeriod(Micros t, const Period& p) { return t >= p.start && t < p.end; }
// The period's facts are judged by the state just before its end, or now when that is earlier.
inline Micros Cutoff(const Period& period, Micros now) { return std::min(period.end - 1, now); }

// The stays of a deal that ended: maximal runs of open segments [first, exit) in one pipeline and stage, followed by
// the segment `exit` (which moved or closed the deal at its valid_from). f(first, exit) in segment order.
template <class F>
void ForEachEndedStay(const OpportunityTimeline& opp, F f) {
    const auto& segs = opp.segments;
    size_t i = 0;
    while (i < segs.size()) {
        if (segs[i].state.status != DealStatus::kOpen) {
            ++i;
            continue;
        }
        size_t j = i + 1;
        while (j < segs.size() && segs[j].state.status == DealStatus::kOpen &&
               segs[j].state.pipeline_id == segs[i].state.pipeline_id &&
               segs[j].state.stage_id == segs[i].state.stage_id) {
            ++j;
        }
        if (j < segs.size()) f(i, j);
        i = j;
    }
}

class KpiBuilder {
  public:
    KpiBuilder(const Period& period, Micros as_of, Micros now, const Filter& filter);

    const Period& period() const { return period_; }
    Micros as_of() const { return as_of_; }
    Micros cutoff() const { return cutoff_; }
    const Filter& filter() const { return filter_; }

    // Pipeline by stage: the deal's state at as_of, if open and matching. Deals must come in id order (the last
    // stated stage name of a key wins), or use AddPipelineRow with the name already decided.
    void AddOpenAt(const OpportunityTimeline& opp);
    void AddPipelineRow(const std::string& pipeline_id, const std::string& stage_id, const std::string& currency,
                        const std::string& stage_name, int64_t count, int64_t value, __int128 weighted);
    // Win rate, deal size, sales cycle: counted when the deal's state at the cutoff closed it in the period.
    void AddClosed(const OpportunityTimeline& opp);
    // Time in stage: the stay [first, exit) if it ended in the period. Stays in (deal id, first) order.
    void AddStay(const OpportunityTimeline& opp, size_t first, size_t exit);
    // Forecast: open at the period's start and expected to close in it.
    void AddForecast(const OpportunityTimeline& opp);
    // Lead conversion, response time, SLA: leads created in the period (others are ignored).
    void AddLead(const LeadTimeline& lead);
    // The same contributions already summed (the indexed pass, kpi_index.hpp): won deals of a currency with their
    // Σ (close - create); lost deals; the exits of a stage with their total and the stage name decided; the forecast
    // of a currency; the cohort leads of a (source, campaign); responses and SLA of the cohort.
    void AddWon(const std::string& currency, int64_t count, int64_t value, __int128 cycle_total);
    void AddLost(int64_t count) { lost_ += count; }
    void AddStaySums(const std::string& pipeline_id, const std::string& stage_id, const std::string& stage_name,
                     int64_t exits, __int128 total);
    void AddForecastSums(const std::string& currency, int64_t value, __int128 weighted);
    void AddConversion(const std::string& source, const std::string& campaign_id, Ratio r);
    void AddResponses(int64_t responses, __int128 total, Ratio sla);
    // New contacts and companies, counted from the sorted creation lists.
    void CountRecords(const Dataset& data);

    Kpis Finish();

  private:
    struct PipelineAcc {
        std::string stage_name;
        int64_t count = 0;
        int64_t value = 0;
        __int128 weighted = 0;
    };
    struct StageAcc {
        std::string stage_name;
        int64_t exits = 0;
        __int128 total = 0;
    };

    Period period_;
    Micros as_of_;
    Micros cutoff_;
    Filter filter_;
    Kpis k_;
    std::map<std::tuple<std::string, std::string, std::string>, PipelineAcc> pipeline_;  // pipeline, stage, currency
    std::map<std::string, DealSizeRow> sizes_;
    int64_t won_ = 0, lost_ = 0;
    __int128 cycle_total_ = 0;
    std::map<std::pair<std::string, std::string>, StageAcc> stages_;
    std::map<std::string, ForecastRow> forecast_;
    std::map<std::string, __int128> forecast_weighted_;
    std::map<std::pair<std::string, std::string>, Ratio> conversion_;
    __int128 response_total_ = 0;
};

}  // namespace crm::analytics::domain::detail
