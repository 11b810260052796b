// IncrementalDataset against BuildDataset: random histories (versions out of order, duplicated events, two events of
// one version, reopened and deleted deals, deals attributed to leads that change or arrive late, renamed stages)
// delivered in random batches; after every batch the incrementally kept Dataset must equal the one folded from all
// facts so far, timeline by timeline, and give the same KPIs and series.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "domain/kpis.hpp"
#include "random_history.hpp"

using namespace crm::analytics::domain;
using namespace crm::analytics::domain::testing;

namespace {

void CheckSame(const Dataset& incremental, const Dataset& cold) {
    CHECK(incremental.contact_creations == cold.contact_creations);
    CHECK(incremental.company_creations == cold.company_creations);
    REQUIRE(incremental.leads.size() == cold.leads.size());
    for (size_t i = 0; i < cold.leads.size(); ++i) {
        INFO("lead " << cold.leads[i]->id);
        CHECK(*incremental.leads[i] == *cold.leads[i]);
    }
    REQUIRE(incremental.opportunities.size() == cold.opportunities.size());
    for (size_t i = 0; i < cold.opportunities.size(); ++i) {
        INFO("opportunity " << cold.opportunities[i]->id);
        CHECK(*incremental.opportunities[i] == *cold.opportunities[i]);
    }
    const Micros later = kDay0 + 60 * kMicrosPerDay;
    const std::vector<Period> periods = {{kDay0, kDay0 + 7 * kMicrosPerDay},
                                         {kDay0 + 3 * kMicrosPerDay, kDay0 + 10 * kMicrosPerDay},
                                         {kDay0 - kMicrosPerDay, kDay0 + 30 * kMicrosPerDay}};
    const std::vector<Filter> filters = {{}, {"p1", "", "", ""}, {"", "u1", "", ""}, {"", "", "web", "c1"}};
    for (const auto& p : periods) {
        for (const auto& f : filters) {
            for (const Micros as_of : {p.end, p.start + 2 * kMicrosPerDay}) {
                CHECK(ComputeKpis(incremental, p, as_of, later, f) == ComputeKpis(cold, p, as_of, later, f));
            }
            // A period still running: judged by "now".
            const Micros now = p.start + 36 * kHour;
            CHECK(ComputeKpis(incremental, p, now, now, f) == ComputeKpis(cold, p, now, now, f));
        }
        for (const Metric m : {Metric::kNewContacts, Metric::kNewCompanies, Metric::kLeadsCreated,
                               Metric::kLeadsConverted, Metric::kDealsWon, Metric::kDealsLost, Metric::kOpenPipeline}) {
            CHECK(ComputeSeries(incremental, m, Granularity::kDay, p, later, {}) ==
                  ComputeSeries(cold, m, Granularity::kDay, p, later, {}));
        }
    }
}

}  // namespace

TEST_CASE("incremental: batches of events applied one after the other equal a fold of all facts",
          "[analytics][incremental]") {
    for (uint32_t seed = 1; seed <= 40; ++seed) {
        INFO("seed " << seed);
        History h(seed);
        Facts facts = h.Make(h.Pick(5, 40), h.Pick(3, 25), h.Pick(0, 15));
        std::shuffle(facts.opportunities.begin(), facts.opportunities.end(), h.rng());
        std::shuffle(facts.leads.begin(), facts.leads.end(), h.rng());
        std::shuffle(facts.records.begin(), facts.records.end(), h.rng());
        // Deal out the facts in random batches (an empty batch too), each table at its own pace.
        const int batches = h.Pick(2, 12);
        std::vector<Facts> dealt(batches);
        for (const auto& r : facts.records) dealt[h.Pick(0, batches - 1)].records.push_back(r);
        for (const auto& l : facts.leads) dealt[h.Pick(0, batches - 1)].leads.push_back(l);
        for (const auto& o : facts.opportunities) dealt[h.Pick(0, batches - 1)].opportunities.push_back(o);

        Facts so_far = dealt[0];
        IncrementalDataset incremental(so_far);
        CheckSame(*incremental.view(), BuildDataset(so_far));
        for (int b = 1; b < batches; ++b) {
            INFO("batch " << b);
            const auto before = incremental.view();
            const Dataset before_copy = *before;
            so_far.Append(dealt[b]);
            incremental.Apply(ChangedAggregates(so_far, dealt[b]));
            CheckSame(*incremental.view(), BuildDataset(so_far));
            // A reader holding the previous view still sees it whole.
            CHECK(before->opportunities.size() == before_copy.opportunities.size());
            for (size_t i = 0; i < before_copy.opportunities.size(); ++i) {
                CHECK(before->opportunities[i] == before_copy.opportunities[i]);
            }
            CHECK(incremental.bytes() > 0);
        }
    }
}

TEST_CASE("incremental: a lead arriving after its deal gives the deal its source", "[analytics][incremental]") {
    OpportunityVersion o;
    o.opportunity_id = "opp-1";
    o.version = 1;
    o.event_id = "e1";
    o.occurred_at = kDay0;
    o.created_at = kDay0;
    o.pipeline_id = "p1";
    o.stage_id = "s1";
    o.status = DealStatus::kOpen;
    o.amount_minor = 500;
    o.currency_code = "EUR";
    o.lead_id = "lead-1";
    Facts first;
    first.opportunities = {o};
    IncrementalDataset d(first);
    const Filter web{"", "", "web", ""};
    const Period week{kDay0, kDay0 + 7 * kMicrosPerDay};
    CHECK(ComputeKpis(*d.view(), week, week.end, week.end, web).pipeline.empty());

    LeadVersion l;
    l.lead_id = "lead-1";
    l.version = 1;
    l.event_id = "e2";
    l.occurred_at = kDay0 - kMicrosPerDay;
    l.created_at = l.occurred_at;
    l.source = "web";
    Facts second;
    second.leads = {l};
    d.Apply(second);
    REQUIRE(ComputeKpis(*d.view(), week, week.end, week.end, web).pipeline.size() == 1);

    // The lead's source changes: the deal follows; the lead's first version stays folded in.
    LeadVersion l2 = l;
    l2.version = 2;
    l2.event_id = "e3";
    l2.occurred_at = kDay0 + kHour;
    l2.created_at.reset();
    l2.source = "event";
    Facts third;
    third.leads = {l, l2};
    d.Apply(third);
    CHECK(ComputeKpis(*d.view(), week, week.end, week.end, web).pipeline.empty());
    CHECK(ComputeKpis(*d.view(), week, week.end, week.end, {"", "", "event", ""}).pipeline.size() == 1);
    Facts all;
    all.opportunities = {o};
    all.leads = {l, l2};
    const Dataset cold = BuildDataset(all);
    REQUIRE(cold.opportunities.size() == 1);
    CHECK(*d.view()->opportunities[0] == *cold.opportunities[0]);
}

namespace {

// ComputeSeries as it was first written: every bucket judged over every aggregate (the reference for the one-pass
// version, which only looks at the buckets an aggregate can add to).
bool Matches(const Filter& f, const OpportunityState& s) {
    if (s.deleted_at) return false;
    return (f.pipeline_id.empty() || f.pipeline_id == s.pipeline_id) &&
           (f.owner_id.empty() || f.owner_id == s.owner_id) && (f.source.empty() || f.source == s.source) &&
           (f.campaign_id.empty() || f.campaign_id == s.campaign_id);
}
bool Matches(const Filter& f, const LeadState& s) {
    return (f.owner_id.empty() || f.owner_id == s.owner_id) && (f.source.empty() || f.source == s.source) &&
           (f.campaign_id.empty() || f.campaign_id == s.campaign_id);
}
bool In(Micros t, const Period& p) { return t >= p.start && t < p.end; }

std::vector<SeriesPoint> ReferenceSeries(const Dataset& data, Metric metric, Granularity g, const Period& period,
                                         Micros now, const Filter& filter) {
    std::vector<SeriesPoint> out;
    for (const Micros start : Buckets(g, period)) {
        const Period bucket{start, NextBucket(g, start)};
        const Micros cutoff = std::min(bucket.end - 1, now);
        SeriesPoint p{start, 0, {}};
        if (metric == Metric::kLeadsCreated || metric == Metric::kLeadsConverted) {
            for (const auto& lead : data.leads) {
                const LeadSegment* s = lead->At(cutoff);
                if (!s || !Matches(filter, s->state)) continue;
                p.count += metric == Metric::kLeadsCreated
                               ? In(lead->created_at, bucket)
                               : s->state.status == LeadStatus::kConverted && In(lead->ConversionTime(*s), bucket);
            }
        } else if (metric == Metric::kDealsWon || metric == Metric::kDealsLost) {
            const DealStatus want = metric == Metric::kDealsWon ? DealStatus::kWon : DealStatus::kLost;
            for (const auto& opp : data.opportunities) {
                const OpportunitySegment* s = opp->At(cutoff);
                if (!s || s->state.status != want || !Matches(filter, s->state)) continue;
                if (!In(opp->CloseTime(*s), bucket)) continue;
                p.count += 1;
                p.amounts[s->state.currency_code] += s->state.amount_minor;
            }
        }
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace

TEST_CASE("incremental: one-pass time series equal every bucket judged over every aggregate",
          "[analytics][incremental]") {
    for (uint32_t seed = 100; seed < 140; ++seed) {
        INFO("seed " << seed);
        History h(seed);
        const Dataset data = BuildDataset(h.Make(h.Pick(5, 60), h.Pick(3, 40), 0));
        for (const Granularity g : {Granularity::kDay, Granularity::kWeek}) {
            for (const Period p : {Period{kDay0, kDay0 + 14 * kMicrosPerDay},
                                   Period{kDay0 + 2 * kMicrosPerDay + kHour, kDay0 + 9 * kMicrosPerDay - kHour}}) {
                for (const Micros now : {kDay0 + 60 * kMicrosPerDay, kDay0 + 5 * kMicrosPerDay + 7 * kHour}) {
                    for (const Filter& f : {Filter{}, Filter{"", "u1", "", ""}, Filter{"", "", "web", ""}}) {
                        for (const Metric m :
                             {Metric::kLeadsCreated, Metric::kLeadsConverted, Metric::kDealsWon, Metric::kDealsLost}) {
                            CHECK(ComputeSeries(data, m, g, p, now, f) == ReferenceSeries(data, m, g, p, now, f));
                        }
                    }
                }
            }
        }
    }
}
