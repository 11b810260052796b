// The indexed GetKpis (domain/kpi_index.hpp) against the pass over every aggregate (ComputeKpisByScan, the
// definition): random histories over two months delivered in random batches to an IncrementalDataset that builds its
// index again after every batch, never, or after a few changed aggregates; after every batch, for many periods, as-of
// times, "now"s and filters (values that exist, and one that does not), the indexed answer must equal the scan of the
// same view and the scan of a fold of all facts so far.
#include "domain/kpi_index.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "domain/kpis.hpp"
#include "random_history.hpp"

using namespace crm::analytics::domain;
using namespace crm::analytics::domain::testing;

namespace {

constexpr int kDays = 60;

int Compare(History& h, const Dataset& view, const Dataset& cold) {
    REQUIRE(view.index != nullptr);  // the indexed path is the one under test
    const std::vector<Filter> filters = {{},
                                         {"p1", "", "", ""},
                                         {"p2", "", "", ""},
                                         {"", "u1", "", ""},
                                         {"", "", "web", ""},
                                         {"", "", "", "c1"},
                                         {"", "", "direct", ""},
                                         {"p1", "u2", "event", ""},
                                         {"", "nobody", "", ""}};
    int compared = 0;
    for (int i = 0; i < 25; ++i) {
        const Micros start = kDay0 + h.Pick(-3 * 24, (kDays + 3) * 24) * kHour + h.Pick(0, 3) * kMicrosPerSecond;
        const Micros length = h.Pick(0, 3) == 0 ? h.Pick(1, 6) * kHour : h.Pick(1, 40) * kMicrosPerDay;
        const Period p{start, start + length};
        const Micros as_of = h.Pick(0, 2) == 0 ? p.end : kDay0 + h.Pick(-24, (kDays + 2) * 24) * kHour;
        const Micros now = h.Pick(0, 3) == 0 ? p.start + h.Pick(0, 48) * kHour : kDay0 + 400 * kMicrosPerDay;
        const Filter& f = filters[h.Pick(0, static_cast<int>(filters.size()) - 1)];
        INFO("period " << p.start << ".." << p.end << " as_of " << as_of << " now " << now << " filter "
                       << f.pipeline_id << "/" << f.owner_id << "/" << f.source << "/" << f.campaign_id);
        const Kpis indexed = ComputeKpis(view, p, as_of, now, f);
        CHECK(indexed == ComputeKpisByScan(view, p, as_of, now, f));
        CHECK(indexed == ComputeKpisByScan(cold, p, as_of, now, f));
        ++compared;
    }
    return compared;
}

}  // namespace

TEST_CASE("kpi index: indexed KPIs equal the pass over every aggregate, batch after batch", "[analytics][index]") {
    int compared = 0, nonempty = 0;
    for (uint32_t seed = 1; seed <= 60; ++seed) {
        for (const size_t reindex_after : {size_t{1}, size_t{5}, size_t{1000000}}) {
            INFO("seed " << seed << " reindex_after " << reindex_after);
            History h(seed, kDays);
            Facts facts = h.Make(h.Pick(5, 80), h.Pick(3, 40), h.Pick(0, 10));
            // A second pipeline for some deals.
            for (auto& o : facts.opportunities) {
                if (o.pipeline_id && o.opportunity_id.back() == '7') o.pipeline_id = "p2";
            }
            std::shuffle(facts.opportunities.begin(), facts.opportunities.end(), h.rng());
            std::shuffle(facts.leads.begin(), facts.leads.end(), h.rng());
            const int batches = h.Pick(1, 8);
            std::vector<Facts> dealt(batches);
            for (const auto& r : facts.records) dealt[h.Pick(0, batches - 1)].records.push_back(r);
            for (const auto& l : facts.leads) dealt[h.Pick(0, batches - 1)].leads.push_back(l);
            for (const auto& o : facts.opportunities) dealt[h.Pick(0, batches - 1)].opportunities.push_back(o);

            Facts so_far = dealt[0];
            IncrementalDataset incremental(so_far, reindex_after);
            compared += Compare(h, *incremental.view(), BuildDataset(so_far));
            for (int b = 1; b < batches; ++b) {
                INFO("batch " << b);
                so_far.Append(dealt[b]);
                incremental.Apply(ChangedAggregates(so_far, dealt[b]));
                const auto view = incremental.view();
                if (reindex_after == 1000000) {
                    // Never built again: everything that changed since the first view is fresh.
                    CHECK((view->fresh_opportunities.size() + view->fresh_leads.size()) > 0);
                }
                compared += Compare(h, *view, BuildDataset(so_far));
                const Kpis all = ComputeKpis(*view, {kDay0, kDay0 + kDays * kMicrosPerDay},
                                             kDay0 + kDays / 2 * kMicrosPerDay, kDay0 + 400 * kMicrosPerDay, {});
                nonempty += !all.pipeline.empty() && !all.time_in_stage.empty() && all.win_rate.denominator > 0;
            }
        }
    }
    CHECK(compared > 5000);
    CHECK(nonempty > 100);  // the histories do exercise every part
}

TEST_CASE("kpi index: a stage whose open deals state two names takes the name of the greatest id",
          "[analytics][index]") {
    auto deal = [](const std::string& id, const std::string& name, Micros at) {
        OpportunityVersion v;
        v.opportunity_id = id;
        v.version = 1;
        v.event_id = "e-" + id;
        v.occurred_at = at;
        v.created_at = at;
        v.pipeline_id = "p1";
        v.stage_id = "s1";
        v.stage_name = name;
        v.probability_bp = 5000;
        v.status = DealStatus::kOpen;
        v.amount_minor = 1001;
        v.currency_code = "EUR";
        return v;
    };
    Facts facts;
    facts.opportunities = {deal("a", "Old name", kDay0), deal("c", "New name", kDay0 + kHour),
                           deal("b", "Old name", kDay0 + 2 * kHour), deal("d", "", kDay0 + 3 * kHour)};
    IncrementalDataset d(facts, 1000000);
    const Period day{kDay0, kDay0 + kMicrosPerDay};
    Kpis k = ComputeKpis(*d.view(), day, day.end, day.end, {});
    REQUIRE(k.pipeline.size() == 1);
    CHECK(k.pipeline[0].stage_name == "New name");  // "c" is the greatest id that states a name
    CHECK(k.pipeline[0].count == 4);
    CHECK(k.pipeline[0].value_minor == 4004);
    CHECK(k.pipeline[0].weighted_value_minor == 2002);
    // Before "c" was created: only the old name.
    k = ComputeKpis(*d.view(), day, kDay0 + 30 * 60 * kMicrosPerSecond, day.end, {});
    REQUIRE(k.pipeline.size() == 1);
    CHECK(k.pipeline[0].stage_name == "Old name");
    CHECK(k.pipeline[0].count == 1);
    // A later deal "e" (fresh, not in the index) with the old name takes over; "c" moved on (stale in the index).
    OpportunityVersion moved = deal("c", "Next", kDay0 + 4 * kHour);
    moved.version = 2;
    moved.event_id = "e-c2";
    moved.stage_id = "s2";
    Facts more;
    more.opportunities = {deal("c", "New name", kDay0 + kHour), moved, deal("e", "Old name", kDay0 + 5 * kHour)};
    d.Apply(more);
    REQUIRE(d.view()->stale != nullptr);
    CHECK(d.view()->stale->opportunities.size() == 1);
    k = ComputeKpis(*d.view(), day, day.end, day.end, {});
    CHECK(k == ComputeKpisByScan(*d.view(), day, day.end, day.end, {}));
    REQUIRE(k.pipeline.size() == 2);
    CHECK(k.pipeline[0].stage_id == "s1");
    CHECK(k.pipeline[0].stage_name == "Old name");
    CHECK(k.pipeline[0].count == 4);
    CHECK(k.pipeline[1].stage_name == "Next");
}
