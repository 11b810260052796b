// KpiIndex (kpi_index.hpp): period KPIs from the aggregates that can contribute, the pipeline from running sums.
#include "domain/kpi_index.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

#include "domain/kpi_builder.hpp"

namespace crm::analytics::domain {

namespace {

constexpr Micros kForever = std::numeric_limits<Micros>::max();
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();  // no stated stage name

// A filter's values as interned ids: any (empty), an id, or one that no contribution has.
class IdFilter {
  public:
    IdFilter(const std::unordered_map<std::string, uint32_t>& ids, const Filter& f)
        : pipeline_(Id(ids, f.pipeline_id)),
          owner_(Id(ids, f.owner_id)),
          source_(Id(ids, f.source)),
          campaign_(Id(ids, f.campaign_id)) {}
    bool Owner(uint32_t v) const { return owner_ == kAny || v == owner_; }
    bool Source(uint32_t v) const { return source_ == kAny || v == source_; }
    bool Campaign(uint32_t v) const { return campaign_ == kAny || v == campaign_; }
    // As detail::Matches for a deal's state (deleted deals match nothing) and for a lead's (no pipeline).
    template <class Attrs>
    bool Deal(const Attrs& a) const {
        return !a.deleted && (pipeline_ == kAny || a.pipeline == pipeline_) && Owner(a.owner) && Source(a.source) &&
               Campaign(a.campaign);
    }
    bool Lead(uint32_t owner, uint32_t source, uint32_t campaign) const {
        return Owner(owner) && Source(source) && Campaign(campaign);
    }

  private:
    static constexpr uint32_t kAny = std::numeric_limits<uint32_t>::max();
    static constexpr uint32_t kNoMatch = kAny - 1;
    static uint32_t Id(const std::unordered_map<std::string, uint32_t>& ids, const std::string& value) {
        if (value.empty()) return kAny;
        auto it = ids.find(value);
        return it == ids.end() ? kNoMatch : it->second;
    }
    uint32_t pipeline_, owner_, source_, campaign_;
};

// The entries of a time-sorted list with lo <= t < hi.
template <class T, class TimeOf>
std::pair<typename std::vector<T>::const_iterator, typename std::vector<T>::const_iterator> Range(
    const std::vector<T>& v, Micros lo, Micros hi, TimeOf time_of) {
    auto first = std::partition_point(v.begin(), v.end(), [&](const T& e) { return time_of(e) < lo; });
    auto last = std::partition_point(first, v.end(), [&](const T& e) { return time_of(e) < hi; });
    return {first, last};
}

// The segment a deal's state counts by in the open pipeline, or nullptr.
const OpportunitySegment* Counting(const OpportunitySegment* s) {
    return s && s->state.status == DealStatus::kOpen && !s->state.deleted_at ? s : nullptr;
}

// The segment in force (the last in version order whose valid_from <= t) over [from, to), for every t from the first
// valid_from on: a sweep of the segments by valid_from keeping the greatest index seen.
struct InForce {
    Micros from, to;
    size_t index;
};
template <class Segment>
std::vector<InForce> InForceIntervals(const std::vector<Segment>& segs) {
    std::vector<uint32_t> order(segs.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return segs[a].valid_from < segs[b].valid_from; });
    std::vector<InForce> out;
    int64_t in_force = -1;
    for (size_t k = 0; k < order.size();) {
        const Micros t = segs[order[k]].valid_from;
        for (; k < order.size() && segs[order[k]].valid_from == t; ++k)
            in_force = std::max<int64_t>(in_force, order[k]);
        if (!out.empty() && out.back().index == static_cast<size_t>(in_force)) continue;
        if (!out.empty()) out.back().to = t;
        out.push_back({t, kForever, static_cast<size_t>(in_force)});
    }
    return out;
}

bool SameContribution(const OpportunitySegment* a, const OpportunitySegment* b) {
    if (!a || !b) return a == b;
    const OpportunityState &x = a->state, &y = b->state;
    return x.pipeline_id == y.pipeline_id && x.stage_id == y.stage_id && x.currency_code == y.currency_code &&
           x.owner_id == y.owner_id && x.source == y.source && x.campaign_id == y.campaign_id &&
           x.amount_minor == y.amount_minor && x.probability_bp == y.probability_bp && x.stage_name == y.stage_name;
}

}  // namespace

void KpiIndex::Acc::Add(const Delta& d) {
    count += d.sign;
    value += d.sign * d.value;
    named += d.named ? d.sign : 0;
    weighted += static_cast<__int128>(d.sign) * d.value * d.probability_bp;
}

uint32_t KpiIndex::Intern(const std::string& value) {
    auto [it, inserted] = ids_.try_emplace(value, static_cast<uint32_t>(strings_.size()));
    if (inserted) strings_.push_back(value);
    return it->second;
}

KpiIndex::Attrs KpiIndex::AttrsOf(const OpportunityState& s) {
    return {Intern(s.pipeline_id), Intern(s.owner_id), Intern(s.source), Intern(s.campaign_id),
            s.deleted_at.has_value()};
}

void KpiIndex::IndexDeal(const OpportunityTimeline& opp, uint32_t rank,
                         std::map<std::tuple<std::string, std::string, std::string>, uint32_t>& group_ids,
                         std::map<std::pair<std::string, std::string>, uint32_t>& stage_ids) {
    const auto& segs = opp.segments;
    for (const InForce& f : InForceIntervals(segs)) {
        const OpportunityState& st = segs[f.index].state;
        if (st.status != DealStatus::kOpen) {
            closes_.push_back({opp.CloseTime(segs[f.index]), f.from, f.to, opp.created_at, st.amount_minor,
                               Intern(st.currency_code), st.status == DealStatus::kWon, AttrsOf(st), &opp});
        } else if (st.expected_close_at) {
            expected_.push_back({*st.expected_close_at, f.from, f.to, st.amount_minor, st.probability_bp,
                                 Intern(st.currency_code), AttrsOf(st), &opp});
        }
    }
    detail::ForEachEndedStay(opp, [&](size_t first, size_t exit) {
        const OpportunityState& st = segs[exit - 1].state;
        auto [it, inserted] =
            stage_ids.try_emplace({st.pipeline_id, st.stage_id}, static_cast<uint32_t>(stages_.size()));
        if (inserted) stages_.emplace_back(st.pipeline_id, st.stage_id);
        exits_.push_back({segs[exit].valid_from, segs[first].valid_from, it->second,
                          st.stage_name.empty() ? kNone : Intern(st.stage_name), rank, static_cast<uint32_t>(first),
                          AttrsOf(st), &opp});
    });

    // The open pipeline: at each change of the state in force, -/+ the deal's contribution.
    const OpportunitySegment* counted = nullptr;
    auto emit = [&](Micros t, const OpportunitySegment& s, int8_t sign) {
        const OpportunityState& st = s.state;
        std::tuple<std::string, std::string, std::string> key{st.pipeline_id, st.stage_id, st.currency_code};
        auto [it, inserted] = group_ids.try_emplace(std::move(key), static_cast<uint32_t>(groups_.size()));
        if (inserted) groups_.push_back({st.pipeline_id, st.stage_id, st.currency_code, {}, {}});
        Group& g = groups_[it->second];
        const bool named = !st.stage_name.empty();
        if (named && sign > 0) {
            if (std::find(g.names.begin(), g.names.end(), st.stage_name) == g.names.end()) {
                g.names.push_back(st.stage_name);
            }
            if (g.named_deals.empty() || g.named_deals.back() != &opp) g.named_deals.push_back(&opp);
        }
        deltas_.push_back({t, st.amount_minor, it->second, Intern(st.owner_id), Intern(st.source),
                           Intern(st.campaign_id), st.probability_bp, sign, named});
    };
    for (const InForce& f : InForceIntervals(segs)) {
        const OpportunitySegment* now_counted = Counting(&segs[f.index]);
        if (SameContribution(counted, now_counted)) continue;
        if (counted) emit(f.from, *counted, -1);
        if (now_counted) emit(f.from, *now_counted, +1);
        counted = now_counted;
    }
}

void KpiIndex::IndexLead(const LeadTimeline& lead) {
    for (const InForce& f : InForceIntervals(lead.segments)) {
        const LeadSegment& seg = lead.segments[f.index];
        const LeadState& st = seg.state;
        const bool converted = st.status == LeadStatus::kConverted;
        lead_states_.push_back({lead.created_at, f.from, f.to, converted ? lead.ConversionTime(seg) : 0,
                                st.first_response_at.value_or(0), st.response_due_at.value_or(0), Intern(st.source),
                                Intern(st.campaign_id), Intern(st.owner_id), converted,
                                st.first_response_at.has_value(), st.response_due_at.has_value(), &lead});
    }
}

KpiIndex::KpiIndex(const Dataset& data) : leads_(data.leads), opportunities_(data.opportunities) {
    std::map<std::tuple<std::string, std::string, std::string>, uint32_t> group_ids;
    std::map<std::pair<std::string, std::string>, uint32_t> stage_ids;
    for (size_t i = 0; i < opportunities_.size(); ++i) {  // in id order: named_deals stay sorted
        IndexDeal(*opportunities_[i], static_cast<uint32_t>(i), group_ids, stage_ids);
    }
    for (const auto& lead : leads_) IndexLead(*lead);
    auto by_time = [](const auto& a, const auto& b) { return a.t < b.t; };
    std::sort(closes_.begin(), closes_.end(), by_time);
    std::sort(expected_.begin(), expected_.end(), by_time);
    std::sort(lead_states_.begin(), lead_states_.end(), by_time);
    std::sort(deltas_.begin(), deltas_.end(), by_time);
    std::sort(exits_.begin(), exits_.end(), [](const StayAt& a, const StayAt& b) { return a.exit < b.exit; });

    const size_t groups = groups_.size();
    stride_ = std::max<size_t>(1024, 8 * groups);
    std::vector<Acc> running(groups);
    checkpoints_.reserve((deltas_.size() / stride_ + 1) * groups);
    for (size_t i = 0; i <= deltas_.size(); ++i) {
        if (i % stride_ == 0) checkpoints_.insert(checkpoints_.end(), running.begin(), running.end());
        if (i < deltas_.size()) running[deltas_[i].group].Add(deltas_[i]);
    }
}

size_t KpiIndex::bytes() const {
    size_t n = sizeof(KpiIndex) + (leads_.capacity() + opportunities_.capacity()) * 16 +
               closes_.capacity() * sizeof(ClosedAt) + expected_.capacity() * sizeof(ForecastAt) +
               exits_.capacity() * sizeof(StayAt) + lead_states_.capacity() * sizeof(LeadAt) +
               deltas_.capacity() * sizeof(Delta) + checkpoints_.capacity() * sizeof(Acc) + strings_.size() * 96 +
               stages_.size() * 96;
    for (const auto& g : groups_) n += sizeof(Group) + g.named_deals.capacity() * 8 + g.names.size() * 48;
    return n;
}

std::vector<KpiIndex::Acc> KpiIndex::PipelineSums(Micros as_of, const Filter& filter) const {
    const size_t n =
        std::partition_point(deltas_.begin(), deltas_.end(), [&](const Delta& d) { return d.t <= as_of; }) -
        deltas_.begin();
    const size_t groups = groups_.size();
    if (filter.owner_id.empty() && filter.source.empty() && filter.campaign_id.empty()) {
        const size_t k = n / stride_;
        std::vector<Acc> sums(checkpoints_.begin() + k * groups, checkpoints_.begin() + (k + 1) * groups);
        for (size_t i = k * stride_; i < n; ++i) sums[deltas_[i].group].Add(deltas_[i]);
        return sums;
    }
    const IdFilter f(ids_, filter);
    std::vector<Acc> sums(groups);
    for (size_t i = 0; i < n; ++i) {
        const Delta& d = deltas_[i];
        if (f.Owner(d.owner) && f.Source(d.source) && f.Campaign(d.campaign)) sums[d.group].Add(d);
    }
    return sums;
}

void KpiIndex::AddPipeline(detail::KpiBuilder& b, const Dataset& data, const Filter& filter) const {
    const Micros as_of = b.as_of();
    auto stale = [&](const void* timeline) { return data.stale && data.stale->all.count(timeline) > 0; };
    const auto& fresh = data.fresh_opportunities;
    // The index's sums, without its stale deals, with the fresh ones.
    struct Row {
        int64_t count = 0, value = 0, named = 0;
        __int128 weighted = 0;
        std::set<std::string> names;
        const Group* group = nullptr;
    };
    std::map<std::tuple<std::string, std::string, std::string>, Row> rows;
    const std::vector<Acc> sums = PipelineSums(as_of, filter);
    for (size_t g = 0; g < groups_.size(); ++g) {
        const Acc& a = sums[g];
        if (a.count == 0 && a.value == 0 && a.named == 0 && a.weighted == 0) continue;
        if (!filter.pipeline_id.empty() && filter.pipeline_id != groups_[g].pipeline_id) continue;
        Row& r = rows[{groups_[g].pipeline_id, groups_[g].stage_id, groups_[g].currency_code}];
        r.count += a.count;
        r.value += a.value;
        r.named += a.named;
        r.weighted += a.weighted;
        r.names.insert(groups_[g].names.begin(), groups_[g].names.end());
        r.group = &groups_[g];
    }
    auto counted_at = [&](const OpportunityTimeline& opp) -> const OpportunityState* {
        const OpportunitySegment* s = Counting(opp.At(as_of));
        return s && detail::Matches(filter, s->state) ? &s->state : nullptr;
    };
    auto add = [&](const OpportunityTimeline& opp, int sign) {
        const OpportunityState* st = counted_at(opp);
        if (!st) return;
        Row& r = rows[{st->pipeline_id, st->stage_id, st->currency_code}];
        r.count += sign;
        r.value += sign * st->amount_minor;
        r.weighted += static_cast<__int128>(sign) * st->amount_minor * st->probability_bp;
        if (!st->stage_name.empty()) {
            r.named += sign;
            r.names.insert(st->stage_name);
        }
    };
    if (data.stale) {
        for (const OpportunityTimeline* opp : data.stale->opportunities) add(*opp, -1);
    }
    for (const auto& opp : fresh) add(*opp, +1);
    for (const auto& entry : rows) {
        const auto& key = entry.first;
        const Row& r = entry.second;
        if (r.count <= 0) continue;
        std::string name;
        if (r.named > 0 && r.names.size() == 1) {
            name = *r.names.begin();
        } else if (r.named > 0) {
            // Several names: the deal with the greatest id among those in this row at as_of stating one.
            auto states_here = [&](const OpportunityTimeline& opp) -> const OpportunityState* {
                const OpportunityState* st = counted_at(opp);
                if (!st || st->stage_name.empty()) return nullptr;
                return std::tie(st->pipeline_id, st->stage_id, st->currency_code) ==
                               std::tie(std::get<0>(key), std::get<1>(key), std::get<2>(key))
                           ? st
                           : nullptr;
            };
            const OpportunityTimeline* best = nullptr;
            if (r.group) {
                for (auto it = r.group->named_deals.rbegin(); it != r.group->named_deals.rend(); ++it) {
                    if (!stale(*it) && states_here(**it)) {
                        best = *it;
                        break;
                    }
                }
            }
            for (const auto& opp : fresh) {
                if (states_here(*opp) && (!best || best->id < opp->id)) best = opp.get();
            }
            if (best) name = states_here(*best)->stage_name;
        }
        b.AddPipelineRow(std::get<0>(key), std::get<1>(key), std::get<2>(key), name, r.count, r.value, r.weighted);
    }
}

void KpiIndex::AddStays(detail::KpiBuilder& b, const Dataset& data, const Filter& filter) const {
    const Period& period = b.period();
    const Micros cutoff = b.cutoff();
    const IdFilter f(ids_, filter);
    // Per stage: exits, total, and the stated name of the last stay in (deal id, stay) order.
    struct Sum {
        int64_t exits = 0;
        __int128 total = 0;
        const std::string* id = nullptr;  // of the deal whose stay named the stage last
        uint32_t first = 0;
        std::string name;
    };
    std::map<std::pair<std::string, std::string>, Sum> sums;
    std::vector<Sum> by_stage(stages_.size());
    std::vector<uint64_t> best(stages_.size(), 0);  // (rank + 1) << 32 | first of the named stay kept, 0: none
    const auto [first, last] = Range(exits_, period.start, period.end, [](const StayAt& e) { return e.exit; });
    for (auto it = first; it != last; ++it) {
        const StayAt& s = *it;
        if (s.exit > cutoff + 1 || !f.Deal(s.attrs)) continue;
        if (data.stale && data.stale->all.count(s.opp)) continue;
        Sum& sum = by_stage[s.stage];
        sum.exits += 1;
        sum.total += s.exit - s.start;
        const uint64_t order = (static_cast<uint64_t>(s.rank) + 1) << 32 | s.first;
        if (s.name != kNone && order > best[s.stage]) {
            best[s.stage] = order;
            sum.id = &s.opp->id;
            sum.first = s.first;
            sum.name = strings_[s.name];
        }
    }
    for (size_t k = 0; k < stages_.size(); ++k) {
        if (by_stage[k].exits > 0) sums[stages_[k]] = std::move(by_stage[k]);
    }
    for (const auto& opp : data.fresh_opportunities) {
        detail::ForEachEndedStay(*opp, [&](size_t first_segment, size_t exit_index) {
            const auto& segs = opp->segments;
            const Micros exit = segs[exit_index].valid_from;
            const OpportunityState& st = segs[exit_index - 1].state;
            if (!detail::InPeriod(exit, period) || exit > cutoff + 1 || !detail::Matches(filter, st)) return;
            Sum& sum = sums[{st.pipeline_id, st.stage_id}];
            sum.exits += 1;
            sum.total += exit - segs[first_segment].valid_from;
            const uint32_t at = static_cast<uint32_t>(first_segment);
            if (!st.stage_name.empty() && (!sum.id || std::tie(*sum.id, sum.first) < std::tie(opp->id, at))) {
                sum.id = &opp->id;
                sum.first = at;
                sum.name = st.stage_name;
            }
        });
    }
    for (const auto& [key, sum] : sums) b.AddStaySums(key.first, key.second, sum.name, sum.exits, sum.total);
}

Kpis KpiIndex::Compute(const Dataset& data, const Period& period, Micros as_of, Micros now,
                       const Filter& filter) const {
    detail::KpiBuilder b(period, as_of, now, filter);
    const Micros cutoff = b.cutoff();
    auto stale = [&](const void* timeline) { return data.stale && data.stale->all.count(timeline) > 0; };
    const IdFilter f(ids_, filter);
    AddPipeline(b, data, filter);

    // Deals closed in the period (their state in force at the cutoff), by currency.
    {
        struct Won {
            int64_t count = 0, value = 0;
            __int128 cycle = 0;
        };
        std::map<uint32_t, Won> won;
        int64_t lost = 0;
        const auto [first, last] = Range(closes_, period.start, period.end, [](const ClosedAt& e) { return e.t; });
        for (auto it = first; it != last; ++it) {
            const ClosedAt& c = *it;
            if (cutoff < c.from || cutoff >= c.to || !f.Deal(c.attrs) || stale(c.timeline)) continue;
            if (!c.won) {
                ++lost;
                continue;
            }
            Won& w = won[c.currency];
            w.count += 1;
            w.value += c.amount;
            w.cycle += c.t - c.created;
        }
        for (const auto& [currency, w] : won) b.AddWon(strings_[currency], w.count, w.value, w.cycle);
        b.AddLost(lost);
    }
    AddStays(b, data, filter);
    // Forecast: open at the period's start, expected to close in it.
    {
        std::map<uint32_t, std::pair<int64_t, __int128>> forecast;
        const auto [first, last] = Range(expected_, period.start, period.end, [](const ForecastAt& e) { return e.t; });
        for (auto it = first; it != last; ++it) {
            const ForecastAt& e = *it;
            if (period.start < e.from || period.start >= e.to || !f.Deal(e.attrs) || stale(e.timeline)) continue;
            auto& [value, weighted] = forecast[e.currency];
            value += e.amount;
            weighted += static_cast<__int128>(e.amount) * e.probability_bp;
        }
        for (const auto& [currency, sums] : forecast) b.AddForecastSums(strings_[currency], sums.first, sums.second);
    }
    // Leads created in the period, by their state at the cutoff.
    {
        std::map<std::pair<uint32_t, uint32_t>, Ratio> conversion;
        int64_t responses = 0;
        __int128 response_total = 0;
        Ratio sla;
        const auto [first, last] = Range(lead_states_, period.start, period.end, [](const LeadAt& e) { return e.t; });
        for (auto it = first; it != last; ++it) {
            const LeadAt& l = *it;
            if (cutoff < l.from || cutoff >= l.to || !f.Lead(l.owner, l.source, l.campaign) || stale(l.lead)) continue;
            Ratio& r = conversion[{l.source, l.campaign}];
            r.denominator += 1;
            if (l.converted && l.conversion < period.end) r.numerator += 1;
            const bool responded = l.responded && l.response <= cutoff;
            if (responded) {
                responses += 1;
                response_total += l.response - l.t;
            }
            if (l.has_due) {
                if (responded) {
                    sla.denominator += 1;
                    if (l.response <= l.due) sla.numerator += 1;
                } else if (l.due <= cutoff) {
                    sla.denominator += 1;
                }
            }
        }
        for (const auto& [key, r] : conversion) b.AddConversion(strings_[key.first], strings_[key.second], r);
        b.AddResponses(responses, response_total, sla);
    }
    // The aggregates changed since the index was built, judged whole.
    for (const auto& opp : data.fresh_opportunities) {
        b.AddClosed(*opp);
        b.AddForecast(*opp);
    }
    for (const auto& lead : data.fresh_leads) b.AddLead(*lead);

    b.CountRecords(data);
    return b.Finish();
}

Kpis ComputeKpisIndexed(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter) {
    return data.index->Compute(data, period, as_of, now, filter);
}

}  // namespace crm::analytics::domain
