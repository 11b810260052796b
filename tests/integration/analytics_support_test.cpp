// Support KPIs (GetSupportKpis) against the real stack, through the gateway:
// - cases worked through the real support service (created, answered, assigned, solved, reopened, solved again),
//   the expected figures computed from the times the service returned; a CSAT answer published as support's
//   CsatRecorded (the support service on this branch does not emit it yet: the contract is in
//   proto/crm/support/events/v1/events.proto);
// - a scripted history published to crm.support.v1 exactly as support's outbox publishes it, with explicit past
//   times, SLA breaches, duplicates and out-of-order delivery, against figures worked out by hand (those of
//   services/analytics/tests/support_kpis_test.cpp);
// - rebuild (row-by-row comparison of the support read model), bad input, roles and tenant isolation.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/common/v1/event.pb.h>
#include <crm/support/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <pqxx/pqxx>
#include <thread>

#include "../support/analytics_client.hpp"
#include "../support/events.hpp"
#include "../support/harness.hpp"
#include "../support/support_client.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace av1 = crm::analytics::v1;
namespace cc = crm::common;
namespace sev = crm::support::events::v1;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

namespace {

int64_t Micros(const Timestamp& t) { return TimeUtil::TimestampToMicroseconds(t); }
Timestamp Ts(int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); }
int64_t NowMicros() { return Micros(TimeUtil::GetCurrentTime()); }

// Seconds of a sum of microsecond durations, rounded half away from zero (as the service rounds).
int64_t Seconds(int64_t micros) { return (micros + 500000) / 1000000; }

av1::GetSupportKpisRequest Period(int64_t start, int64_t end) {
    av1::GetSupportKpisRequest r;
    *r.mutable_start_time() = Ts(start);
    *r.mutable_end_time() = Ts(end);
    return r;
}

const av1::SupportKpis* Group(const google::protobuf::RepeatedPtrField<av1::SupportKpiGroup>& groups,
                              const std::string& id) {
    for (const auto& g : groups) {
        if (g.id() == id) return &g.kpis();
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Publishing as support's outbox does: EventEnvelope, key = case id, every payload with the case snapshot.

OutgoingEvent Event(const std::string& tenant, const std::string& case_id, int64_t version, int64_t at,
                    const google::protobuf::Message& payload) {
    cc::v1::EventEnvelope env;
    env.set_event_id(cc::NewUuid());
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("support");
    env.set_tenant_id(tenant);
    env.set_aggregate_type("case");
    env.set_aggregate_id(case_id);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = Ts(at);
    env.mutable_payload()->PackFrom(payload);
    return {"crm.support.v1", case_id, env.SerializeAsString(), env.event_id(), tenant};
}

constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kT0 = 1772409600LL * 1000000;  // 2026-03-02 00:00 UTC, a Monday
int64_t H(int64_t hours) { return kT0 + hours * kHour; }

// One case's events, as support publishes them (the snapshot after each change, version + 1 per event).
class ScriptedCase {
  public:
    ScriptedCase(std::string tenant, std::vector<OutgoingEvent>& out, int64_t hour, const std::string& queue,
                 const std::string& agent)
        : tenant_(std::move(tenant)), out_(out) {
        c_.set_id(cc::NewUuid());
        c_.set_subject("scripted");
        c_.set_status(spv1::CASE_STATUS_NEW);
        c_.set_queue_id(queue);
        c_.set_assignee_id(agent);
        *c_.mutable_create_time() = Ts(H(hour));
        sev::CaseCreated e;
        Emit(e, hour);
    }
    // business_hours: the first-response clock support states when the reply stops it (target 4 h).
    ScriptedCase& Reply(int64_t hour, int64_t business_hours) {
        if (!c_.has_first_response_time()) {
            *c_.mutable_first_response_time() = Ts(H(hour));
            Clock(spv1::SLA_METRIC_FIRST_RESPONSE, hour, business_hours, 4);
        }
        c_.set_status(spv1::CASE_STATUS_OPEN);
        sev::CaseMessageAdded e;
        e.set_first_response(true);
        *e.mutable_sla_clocks() = clocks_;
        return Emit(e, hour);
    }
    // A solve with the resolution clock's business hours (target 24 h).
    ScriptedCase& Solve(int64_t hour, int64_t business_hours) {
        Clock(spv1::SLA_METRIC_RESOLUTION, hour, business_hours, 24);
        return Status(hour, spv1::CASE_STATUS_SOLVED);
    }
    ScriptedCase& Status(int64_t hour, spv1::CaseStatus to) {
        sev::CaseStatusChanged e;
        if (c_.status() == spv1::CASE_STATUS_SOLVED && to == spv1::CASE_STATUS_OPEN) {
            for (auto& c : clocks_) {
                if (c.metric() == spv1::SLA_METRIC_RESOLUTION) c.clear_stop_time();  // runs again
            }
        }
        e.set_from_status(c_.status());
        e.set_to_status(to);
        e.set_reopened(c_.status() == spv1::CASE_STATUS_SOLVED && to == spv1::CASE_STATUS_OPEN);
        c_.set_status(to);
        if (to == spv1::CASE_STATUS_SOLVED) *c_.mutable_solve_time() = Ts(H(hour));
        if (to == spv1::CASE_STATUS_CLOSED) *c_.mutable_close_time() = Ts(H(hour));
        if (e.reopened()) c_.set_reopen_count(c_.reopen_count() + 1);
        *e.mutable_sla_clocks() = clocks_;
        return Emit(e, hour);
    }
    ScriptedCase& Assign(int64_t hour, const std::string& agent) {
        sev::CaseAssigned e;
        e.set_previous_assignee_id(c_.assignee_id());
        e.set_assignee_id(agent);
        c_.set_assignee_id(agent);
        return Emit(e, hour);
    }
    ScriptedCase& Breach(int64_t hour, spv1::SlaMetric metric) {
        sev::SlaBreached e;
        e.set_metric(metric);
        e.set_target_seconds(3600);
        return Emit(e, hour);
    }
    // A satisfaction answer (its own version of the case, as every case event).
    ScriptedCase& Csat(int64_t hour, int score, const std::string& agent, const std::string& queue) {
        sev::CsatRecorded e;
        e.set_survey_id(cc::NewUuid());
        e.set_score(score);
        e.set_agent_id(agent);
        e.set_queue_id(queue);
        *e.mutable_solve_time() = c_.solve_time();
        *e.mutable_answer_time() = Ts(H(hour));
        return Emit(e, hour);
    }

  private:
    void Clock(spv1::SlaMetric metric, int64_t hour, int64_t business_hours, int64_t target_hours) {
        spv1::SlaClock* clock = nullptr;
        for (auto& c : clocks_) {
            if (c.metric() == metric) clock = &c;
        }
        if (!clock) clock = clocks_.Add();
        clock->set_metric(metric);
        clock->set_target_seconds(target_hours * 3600);
        clock->set_elapsed_seconds(business_hours * 3600);
        clock->set_remaining_seconds((target_hours - business_hours) * 3600);
        *clock->mutable_stop_time() = Ts(H(hour));
        clock->set_state(business_hours > target_hours ? spv1::SLA_CLOCK_STATE_BREACHED : spv1::SLA_CLOCK_STATE_MET);
    }
    template <class E>
    ScriptedCase& Emit(E& e, int64_t hour) {
        c_.set_version(c_.version() + 1);
        *c_.mutable_update_time() = Ts(H(hour));
        *e.mutable_case_() = c_;
        out_.push_back(Event(tenant_, c_.id(), c_.version(), H(hour), e));
        return *this;
    }
    std::string tenant_;
    std::vector<OutgoingEvent>& out_;
    spv1::Case c_;
    google::protobuf::RepeatedPtrField<spv1::SlaClock> clocks_;
};

// The history of services/analytics/tests/support_kpis_test.cpp (cases a to d), plus a case closed long before.
std::vector<OutgoingEvent> ScriptedHistory(const std::string& tenant) {
    std::vector<OutgoingEvent> m;
    // The clocks' business hours as in the unit test: a 1 h, then solves 5 h and 12 h; b 6 h; c 1 h and 30 h.
    ScriptedCase(tenant, m, 0, "q1", "a1")
        .Reply(2, 1)
        .Solve(10, 5)
        .Status(20, spv1::CASE_STATUS_OPEN)
        .Solve(30, 12)
        .Csat(31, 5, "a1", "q1")
        .Status(100, spv1::CASE_STATUS_CLOSED);
    ScriptedCase(tenant, m, 5, "q1", "a2").Breach(9, spv1::SLA_METRIC_FIRST_RESPONSE).Reply(12, 6);
    std::vector<OutgoingEvent> c_events;  // case c is delivered backwards
    ScriptedCase(tenant, c_events, 50, "q2", "a1")
        .Reply(51, 1)
        .Assign(52, "a2")
        .Breach(80, spv1::SLA_METRIC_RESOLUTION)
        .Solve(90, 30)
        .Csat(95, 2, "a2", "q2");
    m.insert(m.end(), c_events.rbegin(), c_events.rend());
    ScriptedCase(tenant, m, -48, "", "").Reply(-47, 1).Solve(-40, 3).Status(60, spv1::CASE_STATUS_OPEN);
    ScriptedCase(tenant, m, -500, "q1", "a1").Reply(-499, 1).Solve(-490, 3).Status(-400, spv1::CASE_STATUS_CLOSED);
    m.push_back(m[3]);  // redelivered: the same event id again
    m.push_back(m[12]);
    return m;
}

// Versions of the scripted history: a 7, b 3, c 6, d 4, the old case 4.
constexpr long kScriptedVersions = 24;

void CheckScriptedWeek(const av1::GetSupportKpisResponse& r) {
    const auto& t = r.total();
    CHECK(t.first_response().count() == 3);
    CHECK(t.first_response().total_seconds() == 10 * 3600);
    CHECK(t.first_response().average_seconds() == 12000);
    CHECK(t.resolution().count() == 2);
    CHECK(t.resolution().total_seconds() == 70 * 3600);
    CHECK(t.resolution().average_seconds() == 35 * 3600);
    CHECK(t.first_response_sla().numerator() == 2);
    CHECK(t.first_response_sla().denominator() == 3);
    CHECK(t.resolution_sla().numerator() == 1);
    CHECK(t.resolution_sla().denominator() == 2);
    // In business hours (the clocks' figures the events carry): a 1 + b 6 + c 1; a 12 + c 30.
    CHECK(t.first_response_business().count() == 3);
    CHECK(t.first_response_business().total_seconds() == 8 * 3600);
    CHECK(t.resolution_business().count() == 2);
    CHECK(t.resolution_business().total_seconds() == 42 * 3600);
    CHECK(t.resolution_business().average_seconds() == 21 * 3600);
    CHECK(t.first_response_no_sla() == 0);
    CHECK(t.resolution_no_sla() == 0);
    CHECK(t.backlog() == 2);  // b and d
    CHECK(t.csat().responses() == 2);
    CHECK(t.csat().score_sum() == 7);
    CHECK(t.csat().satisfied().numerator() == 1);
    CHECK(t.reopen_rate().numerator() == 1);
    CHECK(t.reopen_rate().denominator() == 3);
    const av1::SupportKpis* q2 = Group(r.queues(), "q2");
    REQUIRE(q2 != nullptr);
    CHECK(q2->resolution().total_seconds() == 40 * 3600);
    CHECK(q2->resolution_sla().numerator() == 0);
    CHECK(q2->resolution_sla().denominator() == 1);
    const av1::SupportKpis* a2 = Group(r.agents(), "a2");
    REQUIRE(a2 != nullptr);
    CHECK(a2->first_response().total_seconds() == 7 * 3600);
    CHECK(a2->first_response_sla().denominator() == 1);
    CHECK(a2->first_response_sla().numerator() == 0);
    CHECK(a2->csat().score_sum() == 2);
}

long SupportRows(const std::string& tenant) {
    return std::stol(QueryScalar(
        "analytics", "SELECT count(*) FROM analytics_support_case_versions WHERE tenant_id = '" + tenant + "'"));
}

}  // namespace

TEST_CASE("analytics support KPIs: a scripted history gives the figures computed by hand",
          "[integration][analytics][support_kpis]") {
    const std::string tenant = UniqueTenant("ask");
    const std::vector<OutgoingEvent> messages = ScriptedHistory(tenant);
    ProduceEvents(messages);
    AnalyticsClient api(TokenFor(tenant, {"support_manager"}));
    const auto week = Period(H(0), H(168));
    av1::GetSupportKpisResponse r;
    // The redelivered events add nothing.
    REQUIRE(Eventually([&] { return SupportRows(tenant) == kScriptedVersions; }));
    REQUIRE(Eventually([&] { return api.Kpis(week, &r).ok() && r.total().csat().responses() == 2; }));
    CheckScriptedWeek(r);
    CHECK(SupportRows(tenant) == kScriptedVersions);

    SECTION("the backlog at an earlier as_of_time") {
        auto req = week;
        *req.mutable_as_of_time() = Ts(H(11));  // a solved at 10, b open; c not created; d solved before
        REQUIRE(api.Kpis(req, &r).ok());
        CHECK(r.total().backlog() == 1);
        CHECK(Micros(r.as_of_time()) == H(11));
        *req.mutable_as_of_time() = Ts(H(-495));  // only the long-closed case existed, answered and not solved yet
        REQUIRE(api.Kpis(req, &r).ok());
        CHECK(r.total().backlog() == 1);
    }
    SECTION("filters keep what is attributed to the queue or agent") {
        auto req = week;
        req.set_queue_id("q1");
        REQUIRE(api.Kpis(req, &r).ok());
        CHECK(r.total().first_response().count() == 2);  // a, b
        CHECK(r.total().backlog() == 1);                 // b
        REQUIRE(r.queues_size() == 1);
        req.set_agent_id("a2");
        REQUIRE(api.Kpis(req, &r).ok());
        CHECK(r.total().first_response().total_seconds() == 7 * 3600);
        CHECK(r.total().resolution().count() == 0);
    }
    SECTION("another tenant sees none of it") {
        AnalyticsClient other(TokenFor(UniqueTenant("ask2"), {"analyst"}));
        REQUIRE(other.Kpis(week, &r).ok());
        CHECK(r.total().first_response().count() == 0);
        CHECK(r.total().backlog() == 0);
        CHECK(r.total().csat().responses() == 0);
        CHECK(r.queues_size() == 0);
    }
    SECTION("a rebuild compares the support read model row by row and keeps the figures") {
        AnalyticsClient admin(TokenFor(tenant, {"admin"}));
        av1::RebuildProjectionsRequest check;
        check.set_scope(av1::REBUILD_SCOPE_TENANT);
        check.set_validate_only(true);
        av1::RebuildProjectionsResponse rb;
        REQUIRE(admin.Rebuild(check, &rb).ok());
        CHECK(rb.consistent());
        REQUIRE(rb.tenants_size() == 1);
        std::map<std::string, av1::ProjectionCounts> p;
        for (const auto& x : rb.tenants(0).projections()) p[x.projection()] = x;
        CHECK(p["support_cases"].live_rows() == kScriptedVersions);
        CHECK(p["support_cases"].rebuilt_rows() == kScriptedVersions);
        CHECK(p["support_case_spans"].live_rows() == 5);
        CHECK(p["support_csat"].rebuilt_rows() == 2);

        // Lose the breach of case b behind the service's back: the check reports it, a swap repairs it.
        {
            pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));
            pqxx::work tx(db);
            tx.exec("DELETE FROM analytics_support_case_versions WHERE tenant_id = " + tx.quote(tenant) +
                    " AND breached_clock = 'FIRST_RESPONSE'");
            tx.commit();
        }
        REQUIRE(admin.Rebuild(check, &rb).ok());
        CHECK_FALSE(rb.consistent());
        for (const auto& x : rb.tenants(0).projections()) p[x.projection()] = x;
        CHECK(p["support_cases"].only_rebuilt() == 1);
        CHECK(p["support_cases"].only_live() == 0);
        REQUIRE(api.Kpis(week, &r).ok());
        // b's reply still states its clock past the target: counted as breached at the stop, the figures hold.
        CHECK(r.total().first_response_sla().numerator() == 2);
        CHECK(r.total().first_response_sla().denominator() == 3);

        av1::RebuildProjectionsRequest swap;
        swap.set_scope(av1::REBUILD_SCOPE_TENANT);
        REQUIRE(admin.Rebuild(swap, &rb).ok());
        CHECK(rb.tenants(0).swapped());
        REQUIRE(api.Kpis(week, &r).ok());
        CheckScriptedWeek(r);
    }
}

TEST_CASE("analytics support KPIs: cases worked through the real support service",
          "[integration][analytics][support_kpis]") {
    const std::string tenant = UniqueTenant("asr");
    SupportClient support(TokenFor(tenant, {"support_manager"}));
    AnalyticsClient api(TokenFor(tenant, {"analyst"}));
    const int64_t start = NowMicros() - 1000000;

    // a: assigned to agent-a, answered, solved, reopened by the agent, solved again.
    const spv1::Case a0 = support.MustCreateCase("Printer on fire");
    spv1::AssignCaseRequest assign;
    assign.set_id(a0.id());
    assign.set_assignee_id("agent-a");
    REQUIRE(support.AssignCase(assign).ok());
    const spv1::Case a1 = support.MustAddMessage(a0.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "Looking into it").case_();
    support.MustChangeStatus(a0.id(), spv1::CASE_STATUS_SOLVED);
    support.MustChangeStatus(a0.id(), spv1::CASE_STATUS_OPEN);
    const spv1::Case a2 = support.MustChangeStatus(a0.id(), spv1::CASE_STATUS_SOLVED);
    // b: answered by nobody assigned, still open. c: new.
    const spv1::Case b0 = support.MustCreateCase("Paper jam");
    const spv1::Case b1 = support.MustAddMessage(b0.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "Which tray?").case_();
    support.MustCreateCase("Toner low");
    // A customer's satisfaction answer for a, as support publishes it.
    ProduceEvents({Event(tenant, a2.id(), a2.version() + 1, NowMicros(), [&] {
        sev::CsatRecorded e;
        *e.mutable_case_() = a2;
        e.mutable_case_()->set_version(a2.version() + 1);
        e.set_survey_id(cc::NewUuid());
        e.set_score(4);
        e.set_agent_id("agent-a");
        *e.mutable_solve_time() = a2.solve_time();
        *e.mutable_answer_time() = Ts(NowMicros());
        return e;
    }())});

    REQUIRE(a1.has_first_response_time());
    REQUIRE(b1.has_first_response_time());
    REQUIRE(a2.has_solve_time());
    const int64_t fr_a = Micros(a1.first_response_time()) - Micros(a0.create_time());
    const int64_t fr_b = Micros(b1.first_response_time()) - Micros(b0.create_time());
    const int64_t res_a = Micros(a2.solve_time()) - Micros(a0.create_time());

    const auto period = Period(start, NowMicros() + 3600LL * 1000000);
    av1::GetSupportKpisResponse r;
    REQUIRE(Eventually([&] {
        return api.Kpis(period, &r).ok() && r.total().resolution().count() == 1 && r.total().backlog() == 2 &&
               r.total().csat().responses() == 1 && r.total().reopen_rate().denominator() == 2;
    }));
    const auto& t = r.total();
    CHECK(t.first_response().count() == 2);
    CHECK(t.first_response().total_seconds() == Seconds(fr_a + fr_b));
    CHECK(t.resolution().total_seconds() == Seconds(res_a));
    // No SLA policy: no clock, so neither met nor breached, counted apart.
    CHECK(t.first_response_sla().numerator() == 0);
    CHECK(t.first_response_sla().denominator() == 0);
    CHECK(t.first_response_no_sla() == 2);
    CHECK(t.resolution_sla().denominator() == 0);
    CHECK(t.resolution_no_sla() == 1);
    CHECK(t.first_response_business().count() == 0);
    CHECK(t.backlog() == 2);  // b (open) and c (new)
    CHECK(t.reopen_rate().numerator() == 1);
    CHECK(t.reopen_rate().denominator() == 2);
    CHECK(t.csat().score_sum() == 4);
    CHECK(t.csat().satisfied().numerator() == 1);
    const av1::SupportKpis* agent = Group(r.agents(), "agent-a");
    REQUIRE(agent != nullptr);
    CHECK(agent->first_response().count() == 1);
    CHECK(agent->resolution().count() == 1);
    CHECK(agent->reopen_rate().numerator() == 1);
    CHECK(agent->csat().responses() == 1);
    const av1::SupportKpis* unassigned = Group(r.agents(), "");
    REQUIRE(unassigned != nullptr);
    CHECK(unassigned->backlog() == 2);
    CHECK(unassigned->first_response().count() == 1);
}

TEST_CASE("analytics support KPIs: bad input is INVALID_ARGUMENT naming each field",
          "[integration][analytics][support_kpis]") {
    AnalyticsClient api(TokenFor(UniqueTenant("asb"), {"analyst"}));
    av1::GetSupportKpisResponse r;
    av1::GetSupportKpisRequest missing;
    grpc::Status st = api.Kpis(missing, &r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "start_time"));
    CHECK(HasViolation(st, "end_time"));

    auto bad = Period(H(10), H(5));
    bad.set_queue_id(std::string("q\0x", 3));
    bad.set_agent_id("agent\x07");  // (invalid UTF-8 cannot leave the C++ client: protobuf refuses to serialize it)
    *bad.mutable_as_of_time() = Ts(NowMicros() + 3600LL * 1000000);
    st = api.Kpis(bad, &r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "end_time"));
    CHECK(HasViolation(st, "queue_id"));
    CHECK(HasViolation(st, "agent_id"));
    CHECK(HasViolation(st, "as_of_time"));

    auto oversized = Period(H(0), H(0) + 3661LL * 24 * kHour);
    oversized.set_queue_id(std::string(201, 'q'));
    st = api.Kpis(oversized, &r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "end_time"));
    CHECK(HasViolation(st, "queue_id"));
}

TEST_CASE("analytics support KPIs: roles at the gateway", "[integration][analytics][support_kpis]") {
    const std::string tenant = UniqueTenant("asp");
    const auto week = Period(H(0), H(168));
    av1::GetSupportKpisResponse r;
    for (const char* role : {"admin", "analyst", "support_manager"}) {
        INFO(role);
        CHECK(AnalyticsClient(TokenFor(tenant, {role})).Kpis(week, &r).ok());
    }
    for (const char* role : {"support_agent", "sales_manager", "marketer", "dispatcher", "read_only"}) {
        INFO(role);
        CHECK(AnalyticsClient(TokenFor(tenant, {role})).Kpis(week, &r).error_code() ==
              grpc::StatusCode::PERMISSION_DENIED);
    }
}

TEST_CASE("analytics support KPIs: business hours from the clocks of the real support service",
          "[integration][analytics][support_kpis]") {
    const std::string tenant = UniqueTenant("asb");
    SupportClient support(TokenFor(tenant, {"support_manager"}));
    AnalyticsClient api(TokenFor(tenant, {"analyst"}));
    const int64_t start = NowMicros() - 1000000;

    // Round the clock in UTC: business seconds are the wall-clock seconds (whole ones); targets 1 h and 1 day.
    spv1::UpdateSlaPolicyRequest policy;
    auto* p = policy.mutable_sla_policy();
    p->mutable_calendar()->set_time_zone("UTC");
    for (int d = spv1::DAY_OF_WEEK_MONDAY; d <= spv1::DAY_OF_WEEK_SUNDAY; ++d) {
        auto* h = p->mutable_calendar()->add_working_hours();
        h->set_day(static_cast<spv1::DayOfWeek>(d));
        h->set_start_time("00:00");
        h->set_end_time("24:00");
    }
    auto* target = p->add_targets();
    target->set_priority(spv1::CASE_PRIORITY_NORMAL);
    target->set_first_response_seconds(3600);
    target->set_resolution_seconds(86400);
    REQUIRE(support.UpdateSlaPolicy(policy).ok());

    const spv1::Case a0 = support.MustCreateCase("Scanner offline");
    std::this_thread::sleep_for(1100ms);  // at least one business second on the clock
    const spv1::Case a1 = support.MustAddMessage(a0.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "Restart it").case_();
    const spv1::Case a2 = support.MustChangeStatus(a0.id(), spv1::CASE_STATUS_SOLVED);
    const int64_t fr = Micros(a1.first_response_time()) - Micros(a0.create_time());
    const int64_t res = Micros(a2.solve_time()) - Micros(a0.create_time());

    const auto period = Period(start, NowMicros() + 3600LL * 1000000);
    av1::GetSupportKpisResponse r;
    REQUIRE(Eventually([&] { return api.Kpis(period, &r).ok() && r.total().resolution_business().count() == 1; }));
    const auto& t = r.total();
    CHECK(t.first_response_business().count() == 1);
    // Whole business seconds from the creation's second to the stop's (rounded down and up): within 1 s of the
    // wall-clock figure.
    CHECK(std::abs(t.first_response_business().total_seconds() - fr / 1000000) <= 1);
    CHECK(t.first_response_business().total_seconds() >= 1);
    CHECK(std::abs(t.resolution_business().total_seconds() - res / 1000000) <= 1);
    CHECK(t.first_response_sla().numerator() == 1);
    CHECK(t.first_response_sla().denominator() == 1);
    CHECK(t.resolution_sla().numerator() == 1);
    CHECK(t.resolution_sla().denominator() == 1);
    CHECK(t.first_response_no_sla() == 0);
    CHECK(t.resolution_no_sla() == 0);
}
