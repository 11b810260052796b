// KPI math without I/O: a small tenant whose every figure is worked out by hand in the comments, then the same facts
// shuffled and duplicated (order tolerance, idempotence), filters, as-of snapshots, buckets and rounding.
#include "domain/kpis.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace crm::analytics::domain;

namespace {

constexpr int64_t kDay0 = 20514;  // 2026-03-02, a Monday
constexpr Micros kHour = 3600 * kMicrosPerSecond;

Micros At(int day, int hour = 0) { return (kDay0 + day) * kMicrosPerDay + hour * kHour; }

std::string Uuid(int n) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
    return buf;
}

int next_event = 1000;

OpportunityVersion Opp(int id, int64_t version, Micros at) {
    OpportunityVersion v;
    v.opportunity_id = Uuid(id);
    v.version = version;
    v.event_id = Uuid(++next_event);
    v.occurred_at = at;
    return v;
}

OpportunityVersion Created(int id, Micros at, const char* stage, int bp, int64_t amount, const char* currency,
                           Micros expected_close, const char* owner = "u1") {
    OpportunityVersion v = Opp(id, 1, at);
    v.pipeline_id = "p1";
    v.stage_id = stage;
    v.stage_name = std::string("Stage ") + stage;
    v.probability_bp = bp;
    v.status = DealStatus::kOpen;
    v.amount_minor = amount;
    v.currency_code = currency;
    v.owner_id = owner;
    v.expected_close_at = expected_close;
    v.created_at = at;
    return v;
}

OpportunityVersion Moved(int id, int64_t version, Micros at, const char* stage, int bp) {
    OpportunityVersion v = Opp(id, version, at);
    v.stage_id = stage;
    v.stage_name = std::string("Stage ") + stage;
    v.probability_bp = bp;
    return v;
}

OpportunityVersion Closed(int id, int64_t version, Micros at, DealStatus status) {
    OpportunityVersion v = Opp(id, version, at);
    v.status = status;
    v.closed_at = at;
    return v;
}

LeadVersion Lead(int id, Micros created, const char* source, const char* campaign, Micros due) {
    LeadVersion v;
    v.lead_id = Uuid(id);
    v.version = 1;
    v.event_id = Uuid(++next_event);
    v.occurred_at = created;
    v.source = source;
    v.campaign_id = campaign;
    v.owner_id = "u1";
    v.status = LeadStatus::kOpen;
    v.created_at = created;
    v.response_due_at = due;
    return v;
}

LeadVersion LeadChange(int id, int64_t version, Micros at) {
    LeadVersion v;
    v.lead_id = Uuid(id);
    v.version = version;
    v.event_id = Uuid(++next_event);
    v.occurred_at = at;
    return v;
}

LeadVersion Responded(int id, int64_t version, Micros at) {
    LeadVersion v = LeadChange(id, version, at);
    v.first_response_at = at;
    return v;
}

LeadVersion Converted(int id, int64_t version, Micros at) {
    LeadVersion v = LeadChange(id, version, at);
    v.status = LeadStatus::kConverted;
    v.converted_at = at;
    return v;
}

RecordVersion Record(RecordKind kind, int id, int64_t version, Micros created, std::optional<Micros> deleted = {}) {
    RecordVersion r;
    r.kind = kind;
    r.record_id = Uuid(id);
    r.version = version;
    r.event_id = Uuid(++next_event);
    r.occurred_at = deleted.value_or(created);
    r.created_at = created;
    r.deleted_at = deleted;
    return r;
}

// The scenario (p1 stages: s1 20 %, s2 50 %):
//   O1 EUR 1000.00: created day0 10:00 in s1 (expected close day10), s2 day2 10:00, WON day5 10:00
//   O2 EUR  500.00: created day0 12:00 in s1 (expected close day4), LOST day3 12:00
//   O3 USD  200.00: created day1 09:00 in s1 (expected close day6), s2 day4 09:00, open
//   O4 EUR  300.01: created day1 00:00 in s2 (expected close day20, owner u2), open
//   L1 web/c1  created day0 08:00, due 12:00, responded 09:00, converted day2 08:00
//   L2 web/c1  created day0 09:00, due 13:00, responded 15:00 (late)
//   L3 event/- created day1 10:00, due 14:00, responded 11:00, converted day3 10:00
//   L4 event/- created day1 11:00, due 15:00, never responded
//   L5 web/c1  created day8 (after the period)
//   contacts created day0, day0, day1 (the second also deleted day2), day9; a company created day0
Facts Scenario() {
    Facts f;
    f.opportunities = {
        Created(1, At(0, 10), "s1", 2000, 100000, "EUR", At(10)),
        Moved(1, 2, At(2, 10), "s2", 5000),
        Closed(1, 3, At(5, 10), DealStatus::kWon),
        Created(2, At(0, 12), "s1", 2000, 50000, "EUR", At(4)),
        Closed(2, 2, At(3, 12), DealStatus::kLost),
        Created(3, At(1, 9), "s1", 2000, 20000, "USD", At(6)),
        Moved(3, 2, At(4, 9), "s2", 5000),
        Created(4, At(1, 0), "s2", 5000, 30001, "EUR", At(20), "u2"),
    };
    f.leads = {
        Lead(11, At(0, 8), "web", "c1", At(0, 12)),
        Responded(11, 2, At(0, 9)),
        Converted(11, 3, At(2, 8)),
        Lead(12, At(0, 9), "web", "c1", At(0, 13)),
        Responded(12, 2, At(0, 15)),
        Lead(13, At(1, 10), "event", "", At(1, 14)),
        Responded(13, 2, At(1, 11)),
        Converted(13, 3, At(3, 10)),
        Lead(14, At(1, 11), "event", "", At(1, 15)),
        Lead(15, At(8, 0), "web", "c1", At(8, 4)),
    };
    f.records = {
        Record(RecordKind::kContact, 21, 1, At(0, 1)), Record(RecordKind::kContact, 22, 1, At(0, 2)),
        Record(RecordKind::kContact, 23, 1, At(1, 3)), Record(RecordKind::kContact, 23, 2, At(1, 3), At(2, 0)),
        Record(RecordKind::kContact, 24, 1, At(9, 0)), Record(RecordKind::kCompany, 31, 1, At(0, 5)),
    };
    return f;
}

const Period kWeek{At(0), At(7)};
const Micros kLater = At(30);  // "now": long after the period

void CheckScenarioKpis(const Kpis& k) {
    // Pipeline at day7: O3 (s2 USD 200.00 x 50 %) and O4 (s2 EUR 300.01 x 50 % = 150.005 -> 150.01).
    REQUIRE(k.pipeline.size() == 2);
    CHECK(k.pipeline[0] == PipelineRow{"p1", "s2", "Stage s2", "EUR", 1, 30001, 15001});
    CHECK(k.pipeline[1] == PipelineRow{"p1", "s2", "Stage s2", "USD", 1, 20000, 10000});
    // O1 won, O2 lost in the week.
    CHECK(k.win_rate == Ratio{1, 2});
    REQUIRE(k.deal_sizes.size() == 1);
    CHECK(k.deal_sizes[0] == DealSizeRow{"EUR", 1, 100000, 100000});
    // O1: day0 10:00 -> day5 10:00 = 5 days.
    CHECK(k.sales_cycle_won_count == 1);
    CHECK(k.sales_cycle_total_seconds == 5 * 86400);
    CHECK(k.sales_cycle_average_seconds == 5 * 86400);
    // s1 exits: O1 after 2 days, O2 after 3 days, O3 after 3 days; s2 exits: O1 after 3 days.
    REQUIRE(k.time_in_stage.size() == 2);
    CHECK(k.time_in_stage[0] == StageDurationRow{"p1", "s1", "Stage s1", 3, 8 * 86400, 230400});
    CHECK(k.time_in_stage[1] == StageDurationRow{"p1", "s2", "Stage s2", 1, 3 * 86400, 3 * 86400});
    // Leads of the week: web/c1 L1 (converted) L2; event/- L3 (converted) L4.
    REQUIRE(k.lead_conversion.size() == 2);
    CHECK(k.lead_conversion[0] == LeadConversionRow{"event", "", {1, 2}});
    CHECK(k.lead_conversion[1] == LeadConversionRow{"web", "c1", {1, 2}});
    CHECK(k.lead_conversion_total == Ratio{2, 4});
    // Responses: 1 h, 6 h, 1 h; SLA: L1 and L3 in time, L2 late, L4 overdue.
    CHECK(k.lead_responses == 3);
    CHECK(k.lead_response_total_seconds == 8 * 3600);
    CHECK(k.lead_response_average_seconds == 8 * 3600 / 3);
    CHECK(k.lead_sla_attainment == Ratio{2, 4});
    CHECK(k.new_contacts == 3);
    CHECK(k.new_companies == 1);
    // Forecast of the week from day0 00:00: nothing existed yet; actual: O1 EUR 1000.00.
    REQUIRE(k.forecast.size() == 1);
    CHECK(k.forecast[0] == ForecastRow{"EUR", 0, 0, 100000});
}

}  // namespace

TEST_CASE("kpis: the scenario's figures, each computed by hand", "[analytics][kpis]") {
    const Dataset data = BuildDataset(Scenario());
    CheckScenarioKpis(ComputeKpis(data, kWeek, kWeek.end, kLater, {}));
}

TEST_CASE("kpis: shuffled and duplicated facts give the same figures", "[analytics][kpis]") {
    Facts f = Scenario();
    Facts twice = f;
    twice.Append(f);  // every event delivered twice
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
        std::shuffle(twice.opportunities.begin(), twice.opportunities.end(), rng);
        std::shuffle(twice.leads.begin(), twice.leads.end(), rng);
        std::shuffle(twice.records.begin(), twice.records.end(), rng);
        CheckScenarioKpis(ComputeKpis(BuildDataset(twice), kWeek, kWeek.end, kLater, {}));
    }
}

TEST_CASE("kpis: pipeline as of a past time uses the versions in force then", "[analytics][kpis]") {
    const Dataset data = BuildDataset(Scenario());
    // Day2 12:00: O1 in s2 (EUR 1000.00 x 50 %), O2 in s1 (EUR 500.00 x 20 %), O3 in s1 (USD 200.00 x 20 %),
    // O4 in s2 (EUR 300.01 x 50 %): s2 EUR weighted (100000 + 30001) x 0.5 = 65000.5 -> 65001.
    const Kpis k = ComputeKpis(data, kWeek, At(2, 12), kLater, {});
    REQUIRE(k.pipeline.size() == 3);
    CHECK(k.pipeline[0] == PipelineRow{"p1", "s1", "Stage s1", "EUR", 1, 50000, 10000});
    CHECK(k.pipeline[1] == PipelineRow{"p1", "s1", "Stage s1", "USD", 1, 20000, 4000});
    CHECK(k.pipeline[2] == PipelineRow{"p1", "s2", "Stage s2", "EUR", 2, 130001, 65001});
    // Before the first event: nothing.
    CHECK(ComputeKpis(data, kWeek, At(0), kLater, {}).pipeline.empty());
}

TEST_CASE("kpis: forecast vs actual from the pipeline at the period's start", "[analytics][kpis]") {
    const Dataset data = BuildDataset(Scenario());
    // From day1 00:00 to day8: open then O1 (expected day10: outside), O2 (expected day4: EUR 500.00 x 20 %), O4
    // (created exactly at day1 00:00, expected day20: outside). Won in the period: O1.
    const Kpis k = ComputeKpis(data, {At(1), At(8)}, At(8), kLater, {});
    REQUIRE(k.forecast.size() == 1);
    CHECK(k.forecast[0] == ForecastRow{"EUR", 10000, 50000, 100000});
}

TEST_CASE("kpis: filters by owner, source and pipeline", "[analytics][kpis]") {
    const Dataset data = BuildDataset(Scenario());
    const Kpis by_owner = ComputeKpis(data, kWeek, kWeek.end, kLater, {"", "u2", "", ""});
    REQUIRE(by_owner.pipeline.size() == 1);
    CHECK(by_owner.pipeline[0].value_minor == 30001);
    CHECK(by_owner.win_rate == Ratio{0, 0});
    const Kpis web = ComputeKpis(data, kWeek, kWeek.end, kLater, {"", "", "web", ""});
    CHECK(web.lead_conversion_total == Ratio{1, 2});
    CHECK(web.lead_sla_attainment == Ratio{1, 2});
    CHECK(web.new_contacts == 3);  // records ignore lead filters
    CHECK(ComputeKpis(data, kWeek, kWeek.end, kLater, {"p2", "", "", ""}).pipeline.empty());
}

TEST_CASE("kpis: a period still running judges by now and leaves a pending SLA out", "[analytics][kpis]") {
    const Dataset data = BuildDataset(Scenario());
    // "Now" is day1 12:00: L4's due time 15:00 has not passed, L2 responded late; O1 and O2 are still open.
    const Kpis k = ComputeKpis(data, kWeek, At(1, 12), At(1, 12), {});
    CHECK(k.lead_sla_attainment == Ratio{2, 3});
    CHECK(k.win_rate == Ratio{0, 0});
    CHECK(k.lead_conversion_total == Ratio{0, 4});
}

TEST_CASE("kpis: opportunity source comes from its lead when it states none", "[analytics][kpis]") {
    Facts f = Scenario();
    OpportunityVersion o = Created(9, At(2, 9), "s1", 2000, 7000, "EUR", At(30));
    o.lead_id = Uuid(11);  // L1: web / c1
    f.opportunities.push_back(o);
    const Kpis k = ComputeKpis(BuildDataset(f), kWeek, kWeek.end, kLater, {"", "", "web", "c1"});
    REQUIRE(k.pipeline.size() == 1);
    CHECK(k.pipeline[0] == PipelineRow{"p1", "s1", "Stage s1", "EUR", 1, 7000, 1400});
}

TEST_CASE("kpis: rounding half away from zero, once, on exact sums", "[analytics][kpis]") {
    CHECK(RoundedDiv(5, 2) == 3);
    CHECK(RoundedDiv(-5, 2) == -3);
    CHECK(RoundedDiv(4, 3) == 1);
    CHECK(RoundedDiv(static_cast<__int128>(INT64_MAX) * 10000, 10000) == INT64_MAX);
    // Three deals of 0.01 at 50 %: 0.015 -> 0.02 (rounding each would give 0.03).
    Facts f;
    f.opportunities = {Created(1, At(0), "s1", 5000, 1, "EUR", At(9)), Created(2, At(0), "s1", 5000, 1, "EUR", At(9)),
                       Created(3, At(0), "s1", 5000, 1, "EUR", At(9))};
    const Kpis k = ComputeKpis(BuildDataset(f), kWeek, kWeek.end, kLater, {});
    REQUIRE(k.pipeline.size() == 1);
    CHECK(k.pipeline[0].weighted_value_minor == 2);
}

TEST_CASE("kpis: day, week and month buckets in UTC", "[analytics][kpis]") {
    CHECK(BucketStart(Granularity::kDay, At(3, 17)) == At(3));
    CHECK(BucketStart(Granularity::kWeek, At(6, 23)) == At(0));  // Sunday -> Monday before
    CHECK(BucketStart(Granularity::kWeek, At(7)) == At(7));
    CHECK(BucketStart(Granularity::kMonth, At(13)) == (kDay0 - 1) * kMicrosPerDay);                       // 2026-03-01
    CHECK(NextBucket(Granularity::kMonth, (kDay0 - 1) * kMicrosPerDay) == (kDay0 + 30) * kMicrosPerDay);  // 04-01
    const Micros dec1 = (kDay0 - 1 + 275) * kMicrosPerDay;                                                // 2026-12-01
    CHECK(NextBucket(Granularity::kMonth, dec1) == dec1 + 31 * kMicrosPerDay);
    CHECK(BucketStart(Granularity::kDay, -1) == -kMicrosPerDay);  // before the epoch
    CHECK(Buckets(Granularity::kWeek, {At(0), At(14)}).size() == 2);
    CHECK(Buckets(Granularity::kWeek, {At(0), At(14) + 1}).size() == 3);
}

TEST_CASE("kpis: time series equal the period KPIs bucket by bucket", "[analytics][kpis]") {
    const Dataset data = BuildDataset(Scenario());
    const auto won = ComputeSeries(data, Metric::kDealsWon, Granularity::kDay, kWeek, kLater, {});
    REQUIRE(won.size() == 7);
    for (int d = 0; d < 7; ++d) {
        INFO("day " << d);
        CHECK(won[d].bucket_start == At(d));
        CHECK(won[d].count == (d == 5 ? 1 : 0));
        CHECK(won[d].amounts ==
              (d == 5 ? std::map<std::string, int64_t>{{"EUR", 100000}} : std::map<std::string, int64_t>{}));
    }
    const auto lost = ComputeSeries(data, Metric::kDealsLost, Granularity::kWeek, kWeek, kLater, {});
    REQUIRE(lost.size() == 1);
    CHECK(lost[0].count == 1);
    CHECK(lost[0].amounts == std::map<std::string, int64_t>{{"EUR", 50000}});
    const auto contacts = ComputeSeries(data, Metric::kNewContacts, Granularity::kDay, {At(0), At(3)}, kLater, {});
    CHECK(contacts == std::vector<SeriesPoint>{{At(0), 2, {}}, {At(1), 1, {}}, {At(2), 0, {}}});
    const auto created = ComputeSeries(data, Metric::kLeadsCreated, Granularity::kWeek, {At(0), At(14)}, kLater, {});
    CHECK(created == std::vector<SeriesPoint>{{At(0), 4, {}}, {At(7), 1, {}}});
    const auto converted = ComputeSeries(data, Metric::kLeadsConverted, Granularity::kDay, {At(2), At(4)}, kLater, {});
    CHECK(converted == std::vector<SeriesPoint>{{At(2), 1, {}}, {At(3), 1, {}}});
    // Open pipeline at the end of day 0: O1 and O2 (EUR 1500.00); of day 1: + O3 (USD) and O4 (EUR).
    const auto open = ComputeSeries(data, Metric::kOpenPipeline, Granularity::kDay, {At(0), At(2)}, kLater, {});
    REQUIRE(open.size() == 2);
    CHECK(open[0] == SeriesPoint{At(0), 2, {{"EUR", 150000}}});
    CHECK(open[1] == SeriesPoint{At(1), 4, {{"EUR", 180001}, {"USD", 20000}}});
}

TEST_CASE("kpis: a reopened deal is open again and closes later", "[analytics][kpis]") {
    Facts f;
    f.opportunities = {Created(1, At(0), "s1", 2000, 1000, "EUR", At(9)), Closed(1, 2, At(1), DealStatus::kLost)};
    OpportunityVersion reopened = Opp(1, 3, At(2));
    reopened.status = DealStatus::kOpen;
    f.opportunities.push_back(reopened);
    f.opportunities.push_back(Closed(1, 4, At(4), DealStatus::kWon));
    const Dataset data = BuildDataset(f);
    CHECK(ComputeKpis(data, {At(0), At(2)}, At(2), kLater, {}).win_rate == Ratio{0, 1});
    const Kpis k = ComputeKpis(data, kWeek, At(3), kLater, {});
    CHECK(k.win_rate == Ratio{1, 1});
    CHECK(k.pipeline.size() == 1);  // open again at day 3
}
