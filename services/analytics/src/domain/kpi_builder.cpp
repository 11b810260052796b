// KpiBuilder (kpi_builder.hpp): the contribution of one aggregate to each KPI, and the KPI rows from the sums.
#include "domain/kpi_builder.hpp"

#include <algorithm>

namespace crm::analytics::domain::detail {

bool Matches(const Filter& f, const OpportunityState& s) {
    if (s.deleted_at) return false;  // deleted deals count nowhere
    return (f.pipeline_id.empty() || f.pipeline_id == s.pipeline_id) &&
           (f.owner_id.empty() || f.owner_id == s.owner_id) && (f.source.empty() || f.source == s.source) &&
           (f.campaign_id.empty() || f.campaign_id == s.campaign_id);
}

bool Matches(const Filter& f, const LeadState& s) {
    return (f.owner_id.empty() || f.owner_id == s.owner_id) && (f.source.empty() || f.source == s.source) &&
           (f.campaign_id.empty() || f.campaign_id == s.campaign_id);
}

KpiBuilder::KpiBuilder(const Period& period, Micros as_of, Micros now, const Filter& filter)
    : period_(period), as_of_(as_of), cutoff_(Cutoff(period, now)), filter_(filter) {
    k_.as_of = as_of;
}

void KpiBuilder::AddOpenAt(const OpportunityTimeline& opp) {
    const OpportunitySegment* s = opp.At(as_of_);
    if (!s || s->state.status != DealStatus::kOpen || !Matches(filter_, s->state)) return;
    PipelineAcc& a = pipeline_[{s->state.pipeline_id, s->state.stage_id, s->state.currency_code}];
    if (!s->state.stage_name.empty()) a.stage_name = s->state.stage_name;
    a.count += 1;
    a.value += s->state.amount_minor;
    a.weighted += static_cast<__int128>(s->state.amount_minor) * s->state.probability_bp;
}

void KpiBuilder::AddPipelineRow(const std::string& pipeline_id, const std::string& stage_id,
                                const std::string& currency, const std::string& stage_name, int64_t count,
                                int64_t value, __int128 weighted) {
    PipelineAcc& a = pipeline_[{pipeline_id, stage_id, currency}];
    a.stage_name = stage_name;
    a.count = count;
    a.value = value;
    a.weighted = weighted;
}

void KpiBuilder::AddClosed(const OpportunityTimeline& opp) {
    const OpportunitySegment* s = opp.At(cutoff_);
    if (!s || s->state.status == DealStatus::kOpen || !Matches(filter_, s->state)) return;
    const Micros closed = opp.CloseTime(*s);
    if (!InPeriod(closed, period_)) return;
    if (s->state.status == DealStatus::kLost) {
        ++lost_;
        return;
    }
    ++won_;
    DealSizeRow& row = sizes_[s->state.currency_code];
    row.currency_code = s->state.currency_code;
    row.won_count += 1;
    row.won_value_minor += s->state.amount_minor;
    cycle_total_ += closed - opp.created_at;
}

void KpiBuilder::AddStay(const OpportunityTimeline& opp, size_t first, size_t exit_index) {
    const auto& segs = opp.segments;
    const Micros exit = segs[exit_index].valid_from;
    const OpportunityState& st = segs[exit_index - 1].state;
    if (!InPeriod(exit, period_) || exit > cutoff_ + 1 || !Matches(filter_, st)) return;
    StageAcc& a = stages_[{st.pipeline_id, st.stage_id}];
    if (!st.stage_name.empty()) a.stage_name = st.stage_name;
    a.exits += 1;
    a.total += exit - segs[first].valid_from;
}

void KpiBuilder::AddForecast(const OpportunityTimeline& opp) {
    const OpportunitySegment* s = opp.At(period_.start);
    if (!s || s->state.status != DealStatus::kOpen || !s->state.expected_close_at ||
        !InPeriod(*s->state.expected_close_at, period_) || !Matches(filter_, s->state)) {
        return;
    }
    ForecastRow& row = forecast_[s->state.currency_code];
    row.currency_code = s->state.currency_code;
    row.forecast_value_minor += s->state.amount_minor;
    forecast_weighted_[s->state.currency_code] +=
        static_cast<__int128>(s->state.amount_minor) * s->state.probability_bp;
}

void KpiBuilder::AddLead(const LeadTimeline& lead) {
    if (!InPeriod(lead.created_at, period_)) return;
    const LeadSegment* s = lead.At(cutoff_);
    if (!s || !Matches(filter_, s->state)) return;
    Ratio& r = conversion_[{s->state.source, s->state.campaign_id}];
    r.denominator += 1;
    k_.lead_conversion_total.denominator += 1;
    if (s->state.status == LeadStatus::kConverted && lead.ConversionTime(*s) < period_.end) {
        r.numerator += 1;
        k_.lead_conversion_total.numerator += 1;
    }
    const auto& responded = s->state.first_response_at;
    if (responded && *responded <= cutoff_) {
        k_.lead_responses += 1;
        response_total_ += *responded - lead.created_at;
    }
    if (const auto& due = s->state.response_due_at) {
        if (responded && *responded <= cutoff_) {
            k_.lead_sla_attainment.denominator += 1;
            if (*responded <= *due) k_.lead_sla_attainment.numerator += 1;
        } else if (*due <= cutoff_) {
            k_.lead_sla_attainment.denominator += 1;  // overdue without a response
        }
    }
}

void KpiBuilder::AddWon(const std::string& currency, int64_t count, int64_t value, __int128 cycle_total) {
    won_ += count;
    DealSizeRow& row = sizes_[currency];
    row.currency_code = currency;
    row.won_count += count;
    row.won_value_minor += value;
    cycle_total_ += cycle_total;
}

void KpiBuilder::AddStaySums(const std::string& pipeline_id, const std::string& stage_id, const std::string& stage_name,
                             int64_t exits, __int128 total) {
    StageAcc& a = stages_[{pipeline_id, stage_id}];
    a.stage_name = stage_name;
    a.exits += exits;
    a.total += total;
}

void KpiBuilder::AddForecastSums(const std::string& currency, int64_t value, __int128 weighted) {
    ForecastRow& row = forecast_[currency];
    row.currency_code = currency;
    row.forecast_value_minor += value;
    forecast_weighted_[currency] += weighted;
}

void KpiBuilder::AddConversion(const std::string& source, const std::string& campaign_id, Ratio r) {
    Ratio& sum = conversion_[{source, campaign_id}];
    sum.numerator += r.numerator;
    sum.denominator += r.denominator;
    k_.lead_conversion_total.numerator += r.numerator;
    k_.lead_conversion_total.denominator += r.denominator;
}

void KpiBuilder::AddResponses(int64_t responses, __int128 total, Ratio sla) {
    k_.lead_responses += responses;
    response_total_ += total;
    k_.lead_sla_attainment.numerator += sla.numerator;
    k_.lead_sla_attainment.denominator += sla.denominator;
}

void KpiBuilder::CountRecords(const Dataset& data) {
    auto count_in = [&](const std::vector<Micros>& creations) {
        return static_cast<int64_t>(std::lower_bound(creations.begin(), creations.end(), period_.end) -
                                    std::lower_bound(creations.begin(), creations.end(), period_.start));
    };
    k_.new_contacts = count_in(data.contact_creations);
    k_.new_companies = count_in(data.company_creations);
}

Kpis KpiBuilder::Finish() {
    Kpis k = std::move(k_);
    for (const auto& [key, a] : pipeline_) {
        k.pipeline.push_back({std::get<0>(key), std::get<1>(key), a.stage_name, std::get<2>(key), a.count, a.value,
                              RoundedDiv(a.weighted, 10000)});
    }
    k.win_rate = {won_, won_ + lost_};
    for (auto& [currency, row] : sizes_) {
        row.average_minor = RoundedDiv(row.won_value_minor, row.won_count);
        k.deal_sizes.push_back(row);
    }
    k.sales_cycle_won_count = won_;
    k.sales_cycle_total_seconds = RoundedDiv(cycle_total_, kMicrosPerSecond);
    k.sales_cycle_average_seconds = won_ ? RoundedDiv(cycle_total_, won_ * kMicrosPerSecond) : 0;
    for (const auto& [key, a] : stages_) {
        k.time_in_stage.push_back({key.first, key.second, a.stage_name, a.exits, RoundedDiv(a.total, kMicrosPerSecond),
                                   RoundedDiv(a.total, a.exits * kMicrosPerSecond)});
    }
    for (const auto& [key, r] : conversion_) k.lead_conversion.push_back({key.first, key.second, r});
    k.lead_response_total_seconds = RoundedDiv(response_total_, kMicrosPerSecond);
    k.lead_response_average_seconds =
        k.lead_responses ? RoundedDiv(response_total_, k.lead_responses * kMicrosPerSecond) : 0;
    // Forecast vs actual (won in the period).
    for (const auto& size : k.deal_sizes) {
        ForecastRow& row = forecast_[size.currency_code];
        row.currency_code = size.currency_code;
        row.actual_won_minor = size.won_value_minor;
    }
    for (auto& [currency, row] : forecast_) {
        row.forecast_weighted_minor = RoundedDiv(forecast_weighted_[currency], 10000);
        k.forecast.push_back(row);
    }
    return k;
}

}  // namespace crm::analytics::domain::detail
