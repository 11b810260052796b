#include "domain/kpis.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>

#include "crm/common/civil_date.hpp"
#include "domain/kpi_builder.hpp"
#include "domain/kpi_index.hpp"

namespace crm::analytics::domain {

namespace {

using detail::Cutoff;
using detail::InPeriod;
using detail::Matches;

constexpr Micros kForever = std::numeric_limits<Micros>::max();

template <class T>
void Overlay(T& target, const std::optional<T>& value) {
    if (value) target = *value;
}
template <class T>
void Overlay(std::optional<T>& target, const std::optional<T>& value) {
    if (value) target = value;
}

int Rank(const RecordVersion&) { return 0; }
int Rank(const LeadVersion& v) { return v.status == LeadStatus::kConverted ? 1 : 0; }
int Rank(const OpportunityVersion& v) {
    return v.deleted_at ? 2 : (v.status && *v.status != DealStatus::kOpen ? 1 : 0);
}

// Versions of one aggregate in version order (within one version: the closing event last), an event delivered twice
// (same event id) kept once.
template <class V, class IdOf>
std::vector<std::vector<V>> GroupByAggregate(std::vector<V> versions, IdOf id_of) {
    std::sort(versions.begin(), versions.end(), [&](const V& a, const V& b) {
        return std::make_tuple(std::cref(id_of(a)), a.version, Rank(a), std::cref(a.event_id)) <
               std::make_tuple(std::cref(id_of(b)), b.version, Rank(b), std::cref(b.event_id));
    });
    std::vector<std::vector<V>> out;
    for (auto& v : versions) {
        if (!out.empty() && id_of(out.back().front()) == id_of(v)) {
            const auto& group = out.back();
            if (std::any_of(group.begin(), group.end(), [&](const V& x) { return x.event_id == v.event_id; })) {
                continue;
            }
            out.back().push_back(std::move(v));
        } else {
            out.push_back({std::move(v)});
        }
    }
    return out;
}

template <class Segment>
const Segment* SegmentAt(const std::vector<Segment>& segments, Micros t) {
    // Segments are in version order; occurred_at normally grows with it, but clocks may disagree: take the last
    // version whose valid_from <= t.
    const Segment* found = nullptr;
    for (const auto& s : segments) {
        if (s.valid_from <= t) found = &s;
    }
    return found;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Micros CivilDayStart(int64_t year, unsigned month, unsigned day) {
    return common::DaysFromCivil({year, month, day}) * kMicrosPerDay;
}

int64_t RoundedDiv(__int128 num, int64_t den) {
    const bool negative = num < 0;
    const __int128 a = negative ? -num : num;
    const __int128 q = (a + den / 2) / den;  // half away from zero
    return static_cast<int64_t>(negative ? -q : q);
}

const char* ToString(RecordKind kind) { return kind == RecordKind::kContact ? "contact" : "company"; }
const char* ToString(LeadStatus s) {
    switch (s) {
        case LeadStatus::kOpen:
            return "OPEN";
        case LeadStatus::kConverted:
            return "CONVERTED";
        case LeadStatus::kDisqualified:
            return "DISQUALIFIED";
    }
    return "OPEN";
}
const char* ToString(DealStatus s) {
    switch (s) {
        case DealStatus::kOpen:
            return "OPEN";
        case DealStatus::kWon:
            return "WON";
        case DealStatus::kLost:
            return "LOST";
    }
    return "OPEN";
}
std::optional<RecordKind> RecordKindFrom(const std::string& t) {
    if (t == "contact") return RecordKind::kContact;
    if (t == "company") return RecordKind::kCompany;
    return std::nullopt;
}
std::optional<LeadStatus> LeadStatusFrom(const std::string& t) {
    if (t == "OPEN") return LeadStatus::kOpen;
    if (t == "CONVERTED") return LeadStatus::kConverted;
    if (t == "DISQUALIFIED") return LeadStatus::kDisqualified;
    return std::nullopt;
}
std::optional<DealStatus> DealStatusFrom(const std::string& t) {
    if (t == "OPEN") return DealStatus::kOpen;
    if (t == "WON") return DealStatus::kWon;
    if (t == "LOST") return DealStatus::kLost;
    return std::nullopt;
}

// ------------------------------------------------------------------------------------------------------------------
// Folding

const OpportunitySegment* OpportunityTimeline::At(Micros t) const { return SegmentAt(segments, t); }

Micros OpportunityTimeline::CloseTime(const OpportunitySegment& segment) const {
    if (segment.state.closed_at) return *segment.state.closed_at;
    Micros start = segment.valid_from;
    const auto* first = segments.data();
    for (auto* s = &segment; s >= first && s->state.status == segment.state.status; --s) start = s->valid_from;
    return start;
}

const LeadSegment* LeadTimeline::At(Micros t) const { return SegmentAt(segments, t); }

Micros LeadTimeline::ConversionTime(const LeadSegment& segment) const {
    if (segment.state.converted_at) return *segment.state.converted_at;
    Micros start = segment.valid_from;
    const auto* first = segments.data();
    for (auto* s = &segment; s >= first && s->state.status == LeadStatus::kConverted; --s) start = s->valid_from;
    return start;
}

std::vector<LeadTimeline> FoldLeads(std::vector<LeadVersion> versions) {
    std::vector<LeadTimeline> out;
    for (auto& group :
         GroupByAggregate(std::move(versions), [](const LeadVersion& v) -> const std::string& { return v.lead_id; })) {
        LeadTimeline t;
        t.id = group.front().lead_id;
        t.created_at = group.front().occurred_at;
        bool created_stated = false;
        LeadState state;
        for (const auto& v : group) {
            if (v.created_at && !created_stated) {
                t.created_at = *v.created_at;
                created_stated = true;
            }
            Overlay(state.source, v.source);
            Overlay(state.campaign_id, v.campaign_id);
            Overlay(state.owner_id, v.owner_id);
            Overlay(state.status, v.status);
            Overlay(state.first_response_at, v.first_response_at);
            Overlay(state.response_due_at, v.response_due_at);
            Overlay(state.converted_at, v.converted_at);
            if (!t.segments.empty()) t.segments.back().valid_to = v.occurred_at;
            t.segments.push_back({v.occurred_at, kForever, state});
        }
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<OpportunityTimeline> FoldOpportunities(std::vector<OpportunityVersion> versions,
                                                   const std::vector<LeadTimeline>& leads) {
    std::map<std::string, const LeadTimeline*> lead_by_id;
    for (const auto& l : leads) lead_by_id[l.id] = &l;
    return FoldOpportunities(std::move(versions), [&](const std::string& id) -> const LeadTimeline* {
        auto it = lead_by_id.find(id);
        return it == lead_by_id.end() ? nullptr : it->second;
    });
}

void AttributeFromLeads(OpportunityTimeline& t, const LeadLookup& leads) {
    for (auto& s : t.segments) {
        // Back to what the versions stated, then the lead's source and campaign where they state none.
        if (s.source_from_lead) s.state.source.clear();
        if (s.campaign_from_lead) s.state.campaign_id.clear();
        s.source_from_lead = s.campaign_from_lead = false;
        const LeadTimeline* lead_timeline = leads(s.state.lead_id);
        if (!lead_timeline || lead_timeline->segments.empty()) continue;
        const LeadState& lead = lead_timeline->segments.back().state;
        if (s.state.source.empty()) {
            s.state.source = lead.source;
            s.source_from_lead = true;
        }
        if (s.state.campaign_id.empty()) {
            s.state.campaign_id = lead.campaign_id;
            s.campaign_from_lead = true;
        }
    }
}

std::vector<OpportunityTimeline> FoldOpportunities(std::vector<OpportunityVersion> versions, const LeadLookup& leads) {
    std::vector<OpportunityTimeline> out;
    for (auto& group : GroupByAggregate(
             std::move(versions), [](const OpportunityVersion& v) -> const std::string& { return v.opportunity_id; })) {
        OpportunityTimeline t;
        t.id = group.front().opportunity_id;
        t.created_at = group.front().occurred_at;
        bool created_stated = false;
        OpportunityState state;
        for (const auto& v : group) {
            if (v.created_at && !created_stated) {
                t.created_at = *v.created_at;
                created_stated = true;
            }
            Overlay(state.pipeline_id, v.pipeline_id);
            Overlay(state.stage_id, v.stage_id);
            Overlay(state.stage_name, v.stage_name);
            Overlay(state.probability_bp, v.probability_bp);
            Overlay(state.status, v.status);
            Overlay(state.amount_minor, v.amount_minor);
            Overlay(state.currency_code, v.currency_code);
            Overlay(state.owner_id, v.owner_id);
            Overlay(state.expected_close_at, v.expected_close_at);
            Overlay(state.closed_at, v.closed_at);
            Overlay(state.deleted_at, v.deleted_at);
            Overlay(state.lead_id, v.lead_id);
            Overlay(state.source, v.source);
            Overlay(state.campaign_id, v.campaign_id);
            if (state.status == DealStatus::kOpen) state.closed_at.reset();  // reopened
            if (!t.segments.empty()) t.segments.back().valid_to = v.occurred_at;
            t.segments.push_back({v.occurred_at, kForever, state});
        }
        // Attribution from the lead the deal came from, when the deal does not state its own.
        AttributeFromLeads(t, leads);
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<std::pair<std::string, Micros>> RecordCreationsById(const std::vector<RecordVersion>& versions,
                                                                RecordKind kind) {
    std::vector<RecordVersion> of_kind;
    for (const auto& v : versions) {
        if (v.kind == kind) of_kind.push_back(v);
    }
    std::vector<std::pair<std::string, Micros>> out;
    for (const auto& group : GroupByAggregate(
             std::move(of_kind), [](const RecordVersion& v) -> const std::string& { return v.record_id; })) {
        std::optional<Micros> created;
        for (const auto& v : group) {
            if (v.created_at && !created) created = v.created_at;
        }
        out.emplace_back(group.front().record_id, created.value_or(group.front().occurred_at));
    }
    return out;
}

std::vector<Micros> RecordCreations(const std::vector<RecordVersion>& versions, RecordKind kind) {
    std::vector<Micros> out;
    for (const auto& [id, created] : RecordCreationsById(versions, kind)) out.push_back(created);
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

template <class T>
const T* FindById(const std::vector<std::shared_ptr<const T>>& sorted, const std::string& id) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), id,
                               [](const std::shared_ptr<const T>& t, const std::string& key) { return t->id < key; });
    return it != sorted.end() && (*it)->id == id ? it->get() : nullptr;
}

template <class T>
std::vector<std::shared_ptr<const T>> Shared(std::vector<T> values) {
    std::vector<std::shared_ptr<const T>> out;
    out.reserve(values.size());
    for (auto& v : values) out.push_back(std::make_shared<const T>(std::move(v)));
    return out;
}

}  // namespace

const LeadTimeline* Dataset::FindLead(const std::string& id) const { return FindById(leads, id); }

Dataset BuildDataset(Facts facts) {
    Dataset d;
    d.contact_creations = RecordCreations(facts.records, RecordKind::kContact);
    d.company_creations = RecordCreations(facts.records, RecordKind::kCompany);
    d.leads = Shared(FoldLeads(std::move(facts.leads)));
    d.opportunities = Shared(
        FoldOpportunities(std::move(facts.opportunities), [&d](const std::string& id) { return d.FindLead(id); }));
    return d;
}

// ------------------------------------------------------------------------------------------------------------------
// KPIs

Kpis ComputeKpisByScan(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter) {
    // The deals are visited once, each contributing to every deal KPI in turn (one pass over memory, not four), in
    // id order (which decides the stage names kept).
    detail::KpiBuilder b(period, as_of, now, filter);
    for (const auto& shared : data.opportunities) {
        const OpportunityTimeline& opp = *shared;
        b.AddOpenAt(opp);
        b.AddClosed(opp);
        detail::ForEachEndedStay(opp, [&](size_t first, size_t exit) { b.AddStay(opp, first, exit); });
        b.AddForecast(opp);
    }
    for (const auto& lead : data.leads) b.AddLead(*lead);
    b.CountRecords(data);
    return b.Finish();
}

Kpis ComputeKpis(const Dataset& data, const Period& period, Micros as_of, Micros now, const Filter& filter) {
    if (data.index) return ComputeKpisIndexed(data, period, as_of, now, filter);
    return ComputeKpisByScan(data, period, as_of, now, filter);
}

// ------------------------------------------------------------------------------------------------------------------
// Time series

Micros BucketStart(Granularity g, Micros t) {
    const int64_t day = FloorDiv(t, kMicrosPerDay);
    switch (g) {
        case Granularity::kDay:
            return day * kMicrosPerDay;
        case Granularity::kWeek: {
            // 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7.
            const int64_t weekday = ((day + 3) % 7 + 7) % 7;
            return (day - weekday) * kMicrosPerDay;
        }
        case Granularity::kMonth: {
            const common::CivilDate date = common::CivilFromDays(day);
            return common::DaysFromCivil({date.year, date.month, 1}) * kMicrosPerDay;
        }
    }
    return day * kMicrosPerDay;
}

Micros NextBucket(Granularity g, Micros bucket_start) {
    switch (g) {
        case Granularity::kDay:
            return bucket_start + kMicrosPerDay;
        case Granularity::kWeek:
            return bucket_start + 7 * kMicrosPerDay;
        case Granularity::kMonth: {
            common::CivilDate date = common::CivilFromDays(FloorDiv(bucket_start, kMicrosPerDay));
            date.day = 1;
            if (++date.month > 12) {
                date.month = 1;
                ++date.year;
            }
            return common::DaysFromCivil(date) * kMicrosPerDay;
        }
    }
    return bucket_start + kMicrosPerDay;
}

std::vector<Micros> Buckets(Granularity g, const Period& period) {
    std::vector<Micros> out;
    if (period.end <= period.start) return out;
    for (Micros b = BucketStart(g, period.start); b < period.end; b = NextBucket(g, b)) out.push_back(b);
    return out;
}

std::vector<SeriesPoint> ComputeSeries(const Dataset& data, Metric metric, Granularity g, const Period& period,
                                       Micros now, const Filter& filter) {
    std::vector<SeriesPoint> out;
    std::vector<Period> buckets;
    for (const Micros start : Buckets(g, period)) {
        buckets.push_back({start, NextBucket(g, start)});
        out.push_back({start, 0, {}});
    }
    if (buckets.empty()) return out;
    // The bucket holding t, or npos.
    auto bucket_of = [&](Micros t) -> size_t {
        auto it =
            std::upper_bound(buckets.begin(), buckets.end(), t, [](Micros x, const Period& b) { return x < b.start; });
        if (it == buckets.begin()) return std::string::npos;
        --it;
        return t < it->end ? static_cast<size_t>(it - buckets.begin()) : std::string::npos;
    };
    // An aggregate adds to a bucket only through an event time in that bucket (a creation, a conversion, a close),
    // judged by its state at the bucket's cutoff, as GetKpis over that bucket would judge it. So each aggregate is
    // looked at in the buckets holding one of its candidate times (every closed segment's close time, every converted
    // segment's conversion time), not in every bucket: the same sums, in one pass over the aggregates.
    std::vector<size_t> candidates;
    auto unique_candidates = [&] {
        std::sort(candidates.begin(), candidates.end());
        candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    };
    switch (metric) {
        case Metric::kNewContacts:
        case Metric::kNewCompanies: {
            const auto& c = metric == Metric::kNewContacts ? data.contact_creations : data.company_creations;
            for (size_t b = 0; b < buckets.size(); ++b) {
                out[b].count = std::lower_bound(c.begin(), c.end(), buckets[b].end) -
                               std::lower_bound(c.begin(), c.end(), buckets[b].start);
            }
            break;
        }
        case Metric::kLeadsCreated:
            for (const auto& lead : data.leads) {
                const size_t b = bucket_of(lead->created_at);
                if (b == std::string::npos) continue;
                const LeadSegment* s = lead->At(Cutoff(buckets[b], now));
                if (s && Matches(filter, s->state)) out[b].count += 1;
            }
            break;
        case Metric::kLeadsConverted:
            for (const auto& lead : data.leads) {
                candidates.clear();
                for (const auto& seg : lead->segments) {
                    if (seg.state.status != LeadStatus::kConverted) continue;
                    const size_t b = bucket_of(lead->ConversionTime(seg));
                    if (b != std::string::npos) candidates.push_back(b);
                }
                unique_candidates();
                for (const size_t b : candidates) {
                    const LeadSegment* s = lead->At(Cutoff(buckets[b], now));
                    if (!s || !Matches(filter, s->state)) continue;
                    out[b].count +=
                        s->state.status == LeadStatus::kConverted && InPeriod(lead->ConversionTime(*s), buckets[b]);
                }
            }
            break;
        case Metric::kDealsWon:
        case Metric::kDealsLost: {
            const DealStatus want = metric == Metric::kDealsWon ? DealStatus::kWon : DealStatus::kLost;
            for (const auto& opp : data.opportunities) {
                candidates.clear();
                for (const auto& seg : opp->segments) {
                    if (seg.state.status != want) continue;
                    const size_t b = bucket_of(opp->CloseTime(seg));
                    if (b != std::string::npos) candidates.push_back(b);
                }
                unique_candidates();
                for (const size_t b : candidates) {
                    // As ForEachClosed over the bucket.
                    const OpportunitySegment* s = opp->At(Cutoff(buckets[b], now));
                    if (!s || s->state.status != want || !Matches(filter, s->state)) continue;
                    if (!InPeriod(opp->CloseTime(*s), buckets[b])) continue;
                    out[b].count += 1;
                    out[b].amounts[s->state.currency_code] += s->state.amount_minor;
                }
            }
            break;
        }
        case Metric::kOpenPipeline:
            for (size_t b = 0; b < buckets.size(); ++b) {
                const Micros at = Cutoff(buckets[b], now);
                for (const auto& opp : data.opportunities) {
                    const OpportunitySegment* s = opp->At(at);
                    if (!s || s->state.status != DealStatus::kOpen || !Matches(filter, s->state)) continue;
                    out[b].count += 1;
                    out[b].amounts[s->state.currency_code] += s->state.amount_minor;
                }
            }
            break;
    }
    return out;
}

}  // namespace crm::analytics::domain
