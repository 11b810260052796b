// Support KPIs (domain/support_kpis.hpp) against figures worked out by hand, and their tolerance of arrival order,
// duplicates and filters.
#include "domain/support_kpis.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <random>

using namespace crm::analytics::domain;

namespace {

constexpr Micros kHour = 3600LL * 1000000;
constexpr Micros kT0 = 1772409600LL * 1000000;  // 2026-03-02 00:00 UTC
Micros H(int64_t hours) { return kT0 + hours * kHour; }
constexpr int64_t kHourSeconds = 3600;

// A case whose every event carries its snapshot, as support publishes.
class Case {
  public:
    Case(std::string id, std::vector<CaseVersion>& out, int64_t created_hour, std::string queue, std::string agent)
        : out_(out) {
        s_.case_id = std::move(id);
        s_.created_at = H(created_hour);
        s_.status = CaseState::kNew;
        s_.queue_id = std::move(queue);
        s_.assignee_id = std::move(agent);
        Emit("CaseCreated", created_hour);
    }
    // business_hours: the first-response clock's business time when the reply stopped it (target target_hours);
    // nullopt: the case has no such clock.
    Case& Reply(int64_t hour, std::optional<int64_t> business_hours = std::nullopt, int64_t target_hours = 4) {
        if (!s_.first_response_at) {
            s_.first_response_at = H(hour);
            if (business_hours) s_.first_response_sla = Stopped(*business_hours, target_hours);
        }
        s_.status = CaseState::kOpen;
        return Emit("CaseMessageAdded", hour);
    }
    Case& Solve(int64_t hour, std::optional<int64_t> business_hours = std::nullopt, int64_t target_hours = 24) {
        s_.status = CaseState::kSolved;
        s_.solved_at = H(hour);
        if (business_hours) s_.resolution_sla = Stopped(*business_hours, target_hours);
        return Emit("CaseStatusChanged", hour);
    }
    Case& Reopen(int64_t hour) {
        s_.status = CaseState::kOpen;
        if (s_.resolution_sla) s_.resolution_sla->stopped = false;  // the resolution clock runs again
        return Emit("CaseStatusChanged", hour, true);
    }
    Case& Close(int64_t hour) {
        s_.status = CaseState::kClosed;
        s_.closed_at = H(hour);
        return Emit("CaseStatusChanged", hour);
    }
    Case& Assign(int64_t hour, std::string agent) {
        s_.assignee_id = std::move(agent);
        return Emit("CaseAssigned", hour);
    }
    Case& Breach(int64_t hour, SlaClock clock) {
        Emit("SlaBreached", hour);
        out_.back().breached_clock = clock;
        return *this;
    }
    const std::string& id() const { return s_.case_id; }

  private:
    static SlaFigure Stopped(int64_t business_hours, int64_t target_hours) {
        return {target_hours * kHourSeconds, business_hours * kHourSeconds, true, business_hours > target_hours};
    }
    Case& Emit(const char* type, int64_t hour, bool reopened = false) {
        CaseVersion v = s_;
        // Only these events state the clocks (support's sla_clocks).
        const std::string t = type;
        if (t != "CaseMessageAdded" && t != "CaseStatusChanged" && t != "SlaBreached") {
            v.first_response_sla.reset();
            v.resolution_sla.reset();
        }
        v.version = ++version_;
        v.event_id = s_.case_id + "-" + std::to_string(version_);
        v.occurred_at = H(hour);
        v.event_type = type;
        v.reopened = reopened;
        out_.push_back(v);
        return *this;
    }
    std::vector<CaseVersion>& out_;
    CaseVersion s_;
    int64_t version_ = 0;
};

CsatAnswer Answer(std::string survey, std::string event, int64_t hour, int score, std::string agent,
                  std::string queue) {
    return {std::move(survey), "case", std::move(event), H(hour), score, std::move(agent), std::move(queue)};
}

struct Scenario {
    std::vector<CaseVersion> versions;
    std::vector<CsatAnswer> csat;
    Scenario() {
        // Business hours of each stopped clock (what support's sla_clocks state) after the wall-clock hour.
        Case("a", versions, 0, "q1", "a1").Reply(2, 1).Solve(10, 5).Reopen(20).Solve(30, 12).Close(100);
        Case("b", versions, 5, "q1", "a2").Breach(9, SlaClock::kFirstResponse).Reply(12, 6);
        Case("c", versions, 50, "q2", "a1")
            .Reply(51, 1)
            .Assign(52, "a2")
            .Breach(80, SlaClock::kResolution)
            .Solve(90, 30);
        Case("d", versions, -48, "", "").Reply(-47, 1).Solve(-40, 3).Reopen(60);
        Case("e", versions, 200, "q1", "a1").Reply(201, 1);
        Case("f", versions, 10, "q1", "a1").Reply(170, 2);
        csat = {Answer("s1", "e1", 31, 5, "a1", "q1"), Answer("s2", "e2", 95, 2, "a2", "q2"),
                Answer("s1", "e3", 32, 1, "a1", "q1"),  // the same survey again: counted once
                Answer("s4", "e4", 200, 5, "a1", "q1")};
    }
};

const SupportQuery kWeek{H(0), H(168), H(168), "", ""};

}  // namespace

TEST_CASE("support KPIs: a week of cases worked out by hand", "[support_kpis]") {
    const Scenario s;
    const SupportKpiReport r = ComputeSupportKpis(s.versions, s.csat, kWeek);
    const SupportKpiSet& t = r.total;
    // First response: a 2 h, b 7 h, c 1 h (d before the period, e after, f's reply after the end).
    CHECK(t.first_response.count == 3);
    CHECK(t.first_response.TotalSeconds() == 10 * kHourSeconds);
    CHECK(t.first_response.AverageSeconds() == 10 * kHourSeconds / 3);
    // Resolution: a by its last solve (30 h), c 40 h; d is open again.
    CHECK(t.resolution.count == 2);
    CHECK(t.resolution.TotalSeconds() == 70 * kHourSeconds);
    CHECK(t.resolution.AverageSeconds() == 35 * kHourSeconds);
    // The same in business time: a 1 h, b 6 h, c 1 h; resolution a 12 h (its last solve), c 30 h.
    CHECK(t.first_response_business.count == 3);
    CHECK(t.first_response_business.TotalSeconds() == 8 * kHourSeconds);
    CHECK(t.resolution_business.count == 2);
    CHECK(t.resolution_business.TotalSeconds() == 42 * kHourSeconds);
    CHECK(t.resolution_business.AverageSeconds() == 21 * kHourSeconds);
    // SLA: first response met by a and c, breached by b; resolution met by a, breached by c. Every case had clocks.
    CHECK(t.first_response_sla == Counts{2, 3});
    CHECK(t.resolution_sla == Counts{1, 2});
    CHECK(t.first_response_no_sla == 0);
    CHECK(t.resolution_no_sla == 0);
    // Backlog at the end: b (open), d (reopened), f (new).
    CHECK(t.backlog == 3);
    // CSAT: s1 (5) and s2 (2); s1's second answer and s4 (after the period) are not counted.
    CHECK(t.csat_responses == 2);
    CHECK(t.csat_score_sum == 7);
    CHECK(t.csat_satisfied == 1);
    // Reopen: a's first solve was reopened, a's second and c's were not (d's solve was before the period).
    CHECK(t.reopen == Counts{1, 3});

    REQUIRE(r.queues.size() == 3);
    const SupportKpiSet& q1 = r.queues.at("q1");
    CHECK(q1.first_response.count == 2);
    CHECK(q1.first_response.TotalSeconds() == 9 * kHourSeconds);
    CHECK(q1.first_response_business.TotalSeconds() == 7 * kHourSeconds);  // a 1 h + b 6 h
    CHECK(q1.resolution.TotalSeconds() == 30 * kHourSeconds);
    CHECK(q1.first_response_sla == Counts{1, 2});
    CHECK(q1.resolution_sla == Counts{1, 1});
    CHECK(q1.backlog == 2);
    CHECK(q1.csat_responses == 1);
    CHECK(q1.reopen == Counts{1, 2});
    const SupportKpiSet& q2 = r.queues.at("q2");
    CHECK(q2.first_response.TotalSeconds() == 1 * kHourSeconds);
    CHECK(q2.resolution.TotalSeconds() == 40 * kHourSeconds);
    CHECK(q2.first_response_sla == Counts{1, 1});
    CHECK(q2.resolution_sla == Counts{0, 1});
    CHECK(q2.backlog == 0);
    CHECK(q2.csat_score_sum == 2);
    CHECK(q2.csat_satisfied == 0);
    CHECK(q2.reopen == Counts{0, 1});
    CHECK(r.queues.at("").backlog == 1);

    REQUIRE(r.agents.size() == 3);
    // a1 gave a's and c's first replies and solved a; c was reassigned to a2, who solved it after the breach.
    const SupportKpiSet& a1 = r.agents.at("a1");
    CHECK(a1.first_response.count == 2);
    CHECK(a1.first_response.TotalSeconds() == 3 * kHourSeconds);
    CHECK(a1.first_response_business.TotalSeconds() == 2 * kHourSeconds);  // a 1 h + c 1 h
    CHECK(a1.resolution_business.TotalSeconds() == 12 * kHourSeconds);
    CHECK(a1.resolution.count == 1);
    CHECK(a1.first_response_sla == Counts{2, 2});
    CHECK(a1.resolution_sla == Counts{1, 1});
    CHECK(a1.backlog == 1);
    CHECK(a1.csat_score_sum == 5);
    CHECK(a1.reopen == Counts{1, 2});
    const SupportKpiSet& a2 = r.agents.at("a2");
    CHECK(a2.first_response.TotalSeconds() == 7 * kHourSeconds);
    CHECK(a2.resolution.TotalSeconds() == 40 * kHourSeconds);
    CHECK(a2.first_response_sla == Counts{0, 1});
    CHECK(a2.resolution_sla == Counts{0, 1});
    CHECK(a2.backlog == 1);
    CHECK(a2.reopen == Counts{0, 1});
    CHECK(r.agents.at("").backlog == 1);
}

TEST_CASE("support KPIs: the backlog at an earlier as-of time", "[support_kpis]") {
    const Scenario s;
    SupportQuery q = kWeek;
    q.as_of = H(11);  // a solved at 10, b open, f new; c not created yet; d solved before
    CHECK(ComputeSupportKpis(s.versions, s.csat, q).total.backlog == 2);
    q.as_of = H(10);  // a's solve at exactly 10 is in force
    CHECK(ComputeSupportKpis(s.versions, s.csat, q).total.backlog == 2);
    q.as_of = H(9);  // a still open, b open, f not created yet
    CHECK(ComputeSupportKpis(s.versions, s.csat, q).total.backlog == 2);
    q.as_of = H(4);  // only a
    const SupportKpiReport early = ComputeSupportKpis(s.versions, s.csat, q);
    CHECK(early.total.backlog == 1);
    CHECK(early.agents.at("a1").backlog == 1);
}

TEST_CASE("support KPIs: a shorter period judges the state before its end", "[support_kpis]") {
    const Scenario s;
    // [0, 25): a solved at 10 and reopened at 20: its resolution is not counted (open at the end), its first solve
    // counts as reopened; b's breach and reply; f created.
    const SupportKpiReport r = ComputeSupportKpis(s.versions, s.csat, {H(0), H(25), H(25), "", ""});
    CHECK(r.total.first_response.count == 2);
    CHECK(r.total.resolution.count == 0);
    CHECK(r.total.resolution_sla == Counts{0, 0});
    CHECK(r.total.reopen == Counts{1, 1});
    CHECK(r.total.backlog == 3);  // a, b, f
}

TEST_CASE("support KPIs: arrival order and duplicates do not matter", "[support_kpis]") {
    const Scenario s;
    const SupportKpiReport expected = ComputeSupportKpis(s.versions, s.csat, kWeek);
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
        std::vector<CaseVersion> v = s.versions;
        std::vector<CsatAnswer> c = s.csat;
        for (int i = 0; i < 5; ++i) v.push_back(v[rng() % v.size()]);
        c.push_back(c[rng() % c.size()]);
        std::shuffle(v.begin(), v.end(), rng);
        std::shuffle(c.begin(), c.end(), rng);
        REQUIRE(ComputeSupportKpis(v, c, kWeek) == expected);
    }
}

TEST_CASE("support KPIs: queue and agent filters keep what is attributed to them", "[support_kpis]") {
    const Scenario s;
    const SupportKpiReport all = ComputeSupportKpis(s.versions, s.csat, kWeek);
    SupportQuery q = kWeek;
    q.queue_id = "q1";
    const SupportKpiReport r1 = ComputeSupportKpis(s.versions, s.csat, q);
    CHECK(r1.total == all.queues.at("q1"));
    CHECK(r1.queues.size() == 1);
    q.agent_id = "a2";
    const SupportKpiReport r2 = ComputeSupportKpis(s.versions, s.csat, q);
    CHECK(r2.total.first_response.TotalSeconds() == 7 * kHourSeconds);  // b
    CHECK(r2.total.backlog == 1);
    CHECK(r2.total.resolution.count == 0);  // c was solved in q2
    q.queue_id = "nope";
    CHECK(ComputeSupportKpis(s.versions, s.csat, q) == SupportKpiReport{});
}

TEST_CASE("support KPIs: durations round half away from zero once, on the exact sum", "[support_kpis]") {
    Durations d{2, 3 * 1000000 + 1};  // 3.000001 s over two cases
    CHECK(d.TotalSeconds() == 3);
    CHECK(d.AverageSeconds() == 2);  // 1.5000005 -> 2
    CHECK(Durations{}.AverageSeconds() == 0);
}

TEST_CASE("support KPIs: business hours, a stop past its target and cases without an SLA", "[support_kpis]") {
    std::vector<CaseVersion> v;
    // g has clocks (first response 8 business hours, resolution 16): replied after 30 wall-clock hours of which 6
    // business hours (met); solved after 80 wall-clock hours, 20 business hours: past its 16 h target, stopped before
    // the scheduler fired a breach (no SlaBreached), so the stop itself is the breach.
    Case("g", v, 0, "q1", "a1").Reply(30, 6, 8).Solve(80, 20, 16);
    // h has no SLA target (no policy, or none for its priority and tier): replied after 3 h, solved after 5 h.
    Case("h", v, 0, "q1", "a1").Reply(3).Solve(5);
    const SupportKpiSet t = ComputeSupportKpis(v, {}, kWeek).total;
    // Wall-clock: both cases. g 30 h + h 3 h; g 80 h + h 5 h.
    CHECK(t.first_response.count == 2);
    CHECK(t.first_response.TotalSeconds() == 33 * kHourSeconds);
    CHECK(t.resolution.count == 2);
    CHECK(t.resolution.TotalSeconds() == 85 * kHourSeconds);
    // Business hours: g only, with the clocks' figures.
    CHECK(t.first_response_business.count == 1);
    CHECK(t.first_response_business.TotalSeconds() == 6 * kHourSeconds);
    CHECK(t.resolution_business.count == 1);
    CHECK(t.resolution_business.TotalSeconds() == 20 * kHourSeconds);
    // Attainment: g's reply met, g's solve breached; h counts apart, never as met.
    CHECK(t.first_response_sla == Counts{1, 1});
    CHECK(t.resolution_sla == Counts{0, 1});
    CHECK(t.first_response_no_sla == 1);
    CHECK(t.resolution_no_sla == 1);

    // Before this change every case without a breach was "met": h alone would have been 1 of 1.
    std::vector<CaseVersion> only_h;
    Case("h", only_h, 0, "q1", "a1").Reply(3).Solve(5);
    const SupportKpiSet h = ComputeSupportKpis(only_h, {}, kWeek).total;
    CHECK(h.first_response_sla == Counts{0, 0});
    CHECK(h.resolution_sla == Counts{0, 0});
    CHECK(h.first_response_no_sla == 1);
    CHECK(h.first_response_business.count == 0);
}
