// KpiIndex (kpi_index.hpp): period KPIs from the aggregates that can contribute, the pipeline from running sums.
#include "domain/kpi_index.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

#include "domain/kpi_builder.hpp"

namespace crm::analytics::domain {

namespace {

constexpr uint32_t kNoAttribute = std::numeric_limits<uint32_t>::max();

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

uint32_t KpiIndex::Attribute(const std::string& value) {
    return attributes_.try_emplace(value, static_cast<uint32_t>(attributes_.size())).first->second;
}

void KpiIndex::IndexDeal(const OpportunityTimeline& opp,
                         std::map<std::tuple<std::string, std::string, std::string>, uint32_t>& group_ids) {
    const auto& segs = opp.segments;
    for (size_t i = 0; i < segs.size(); ++i) {
        const OpportunityState& st = segs[i].state;
        if (st.status != DealStatus::kOpen) {
            closes_.push_back({opp.CloseTime(segs[i]), &opp});
        } else if (st.expected_close_at) {
            expected_.push_back({*st.expected_close_at, &opp});
        }
    }
    detail::ForEachEndedStay(opp, [&](size_t first, size_t exit) {
        exits_.push_back({segs[exit].valid_from, &opp, static_cast<uint32_t>(first), static_cast<uint32_t>(exit)});
    });

    // The state in force at t is the last version (in version order) whose valid_from <= t: sweep the segments by
    // valid_from, keeping the greatest version index seen; the contribution can change only at those times.
    std::vector<uint32_t> order(segs.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return segs[a].valid_from < segs[b].valid_from; });
    const OpportunitySegment* counted = nullptr;
    int64_t in_force = -1;
    auto emit = [&](Micros t, const OpportunitySegment& s, int8_t sign) {
        const OpportunityState& st = s.state;
        std::tuple<std::string, std::string, std::string> key{st.pipeline_id, st.stage_id, st.currency_code};
        auto [it, inserted] = group_ids.try_emplace(std::move(key), static_cast<uint32_t>(groups_.size()));
        if (inserted) groups_.push_back({st.pipeline_id, st.stage_id, st.currency_code, {}, {}});
        Group& g = groups_[it->second];
        const bool named = !st.stage_name.empty();
        if (named && sign > 0) {
            if (std::find(g.names.begin(), g.names.end(), st.stage_name) == g.names.end())
                g.names.push_back(st.stage_name);
            if (g.named_deals.empty() || g.named_deals.back() != &opp) g.named_deals.push_back(&opp);
        }
        deltas_.push_back({t, st.amount_minor, it->second, Attribute(st.owner_id), Attribute(st.source),
                           Attribute(st.campaign_id), st.probability_bp, sign, named});
    };
    for (size_t k = 0; k < order.size();) {
        const Micros t = segs[order[k]].valid_from;
        for (; k < order.size() && segs[order[k]].valid_from == t; ++k) {
            in_force = std::max<int64_t>(in_force, order[k]);
        }
        const OpportunitySegment* now_counted = Counting(&segs[in_force]);
        if (SameContribution(counted, now_counted)) continue;
        if (counted) emit(t, *counted, -1);
        if (now_counted) emit(t, *now_counted, +1);
        counted = now_counted;
    }
}

KpiIndex::KpiIndex(const Dataset& data) : leads_(data.leads), opportunities_(data.opportunities) {
    std::map<std::tuple<std::string, std::string, std::string>, uint32_t> group_ids;
    for (const auto& opp : opportunities_) IndexDeal(*opp, group_ids);  // in id order: named_deals stay sorted
    for (const auto& lead : leads_) lead_creations_.push_back({lead->created_at, lead.get()});
    auto by_time = [](const auto& a, const auto& b) { return a.t < b.t; };
    std::sort(closes_.begin(), closes_.end(), by_time);
    std::sort(expected_.begin(), expected_.end(), by_time);
    std::sort(lead_creations_.begin(), lead_creations_.end(), by_time);
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
               (closes_.capacity() + expected_.capacity()) * sizeof(OppAt) + exits_.capacity() * sizeof(StayAt) +
               lead_creations_.capacity() * sizeof(LeadAt) + deltas_.capacity() * sizeof(Delta) +
               checkpoints_.capacity() * sizeof(Acc) + attributes_.size() * 64;
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
    auto id = [&](const std::string& value) {
        if (value.empty()) return kNoAttribute;  // any
        auto it = attributes_.find(value);
        return it == attributes_.end() ? kNoAttribute - 1 : it->second;  // kNoAttribute - 1: matches no delta
    };
    const uint32_t owner = id(filter.owner_id), source = id(filter.source), campaign = id(filter.campaign_id);
    std::vector<Acc> sums(groups);
    for (size_t i = 0; i < n; ++i) {
        const Delta& d = deltas_[i];
        if ((owner == kNoAttribute || d.owner == owner) && (source == kNoAttribute || d.source == source) &&
            (campaign == kNoAttribute || d.campaign == campaign)) {
            sums[d.group].Add(d);
        }
    }
    return sums;
}

Kpis KpiIndex::Compute(const Dataset& data, const Period& period, Micros as_of, Micros now,
                       const Filter& filter) const {
    detail::KpiBuilder b(period, as_of, now, filter);
    auto stale = [&](const void* timeline) { return data.stale && data.stale->all.count(timeline) > 0; };
    const auto& fresh = data.fresh_opportunities;

    // Pipeline at as_of: the index's sums, without its stale deals, with the fresh ones.
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
            auto states_here = [&](const OpportunityTimeline& opp) {
                const OpportunityState* st = counted_at(opp);
                return st && !st->stage_name.empty() &&
                               std::tie(st->pipeline_id, st->stage_id, st->currency_code) ==
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

    // Deals that closed, or were expected to close, in the period: candidates from the lists, judged whole.
    auto deals_in = [&](const std::vector<OppAt>& list) {
        std::vector<const OpportunityTimeline*> deals;
        const auto [first, last] = Range(list, period.start, period.end, [](const OppAt& e) { return e.t; });
        for (auto it = first; it != last; ++it) {
            if (!stale(it->opp)) deals.push_back(it->opp);
        }
        for (const auto& opp : fresh) deals.push_back(opp.get());
        std::sort(deals.begin(), deals.end());
        deals.erase(std::unique(deals.begin(), deals.end()), deals.end());
        return deals;
    };
    for (const OpportunityTimeline* opp : deals_in(closes_)) b.AddClosed(*opp);
    for (const OpportunityTimeline* opp : deals_in(expected_)) b.AddForecast(*opp);

    // Stays that ended in the period, in (deal id, stay) order as the pass over every deal takes them.
    std::vector<StayAt> stays;
    const auto [first_stay, last_stay] =
        Range(exits_, period.start, period.end, [](const StayAt& e) { return e.exit; });
    for (auto it = first_stay; it != last_stay; ++it) {
        if (!stale(it->opp)) stays.push_back(*it);
    }
    for (const auto& opp : fresh) {
        detail::ForEachEndedStay(*opp, [&](size_t first, size_t exit) {
            stays.push_back(
                {opp->segments[exit].valid_from, opp.get(), static_cast<uint32_t>(first), static_cast<uint32_t>(exit)});
        });
    }
    std::sort(stays.begin(), stays.end(), [](const StayAt& a, const StayAt& b) {
        return std::tie(a.opp->id, a.first) < std::tie(b.opp->id, b.first);
    });
    for (const StayAt& s : stays) b.AddStay(*s.opp, s.first, s.exit_index);

    // Leads created in the period.
    const auto [first_lead, last_lead] =
        Range(lead_creations_, period.start, period.end, [](const LeadAt& e) { return e.t; });
    for (auto it = first_lead; it != last_lead; ++it) {
        if (!stale(it->lead)) b.AddLead(*it->lead);
    }
    for (const auto& lead : data.fresh_leads) b.AddLead(*lead);

    b.CountRecords(data);
    return b.Finish();
}

Kpis ComputeKpisIndexed(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter) {
    return data.index->Compute(data, period, as_of, now, filter);
}

}  // namespace crm::analytics::domain
