// Support events -> support facts, without I/O: the case snapshot of each event, a reopen, the clock of a breach,
// CSAT answers; payloads that cannot be interpreted are rejected (the consumer dead-letters them).
#include <crm/common/v1/event.pb.h>
#include <crm/support/events/v1/events.pb.h>

#include <catch2/catch.hpp>

#include "domain/facts.hpp"
#include "projection/projector.hpp"
#include "projection/proto_time.hpp"
#include "support_kpis/projector.hpp"

using namespace crm::analytics;
namespace sev = crm::support::events::v1;
namespace sv1 = crm::support::v1;

namespace {

const std::string kCaseId = "7A1C2A64-8A8E-4C1B-9E0C-3C6E5B7A9D10";
const std::string kEventId = "1d6c1c0e-5f33-4b8c-9b7e-2a8f0f4b1e11";

crm::common::v1::EventEnvelope Envelope(const google::protobuf::Message& payload, int64_t version = 3) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(kEventId);
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("support");
    env.set_tenant_id("acme");
    env.set_aggregate_type("case");
    env.set_aggregate_id(kCaseId);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = projection::ToTimestamp(1'700'000'100'000'000);
    env.mutable_payload()->PackFrom(payload);
    return env;
}

sv1::Case Snapshot(sv1::CaseStatus status) {
    sv1::Case c;
    c.set_id(kCaseId);
    c.set_status(status);
    c.set_queue_id("q1");
    c.set_assignee_id("agent-1");
    *c.mutable_create_time() = projection::ToTimestamp(1'700'000'000'000'000);
    *c.mutable_first_response_time() = projection::ToTimestamp(1'700'000'010'000'000);
    *c.mutable_solve_time() = projection::ToTimestamp(1'700'000'050'000'000);
    return c;
}

}  // namespace

TEST_CASE("support projector: a reopen keeps the case snapshot and the reopen flag", "[analytics][support]") {
    sev::CaseStatusChanged e;
    *e.mutable_case_() = Snapshot(sv1::CASE_STATUS_OPEN);
    e.set_from_status(sv1::CASE_STATUS_SOLVED);
    e.set_to_status(sv1::CASE_STATUS_OPEN);
    e.set_reopened(true);
    const domain::Facts f = projection::Project(Envelope(e));
    REQUIRE(f.support.cases.size() == 1);
    CHECK(f.records.empty());
    const domain::CaseVersion& v = f.support.cases[0];
    CHECK(v.case_id == "7a1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10");
    CHECK(v.version == 3);
    CHECK(v.event_id == kEventId);
    CHECK(v.event_type == "CaseStatusChanged");
    CHECK(v.occurred_at == 1'700'000'100'000'000);
    CHECK(v.status == domain::CaseState::kOpen);
    CHECK(v.queue_id == "q1");
    CHECK(v.assignee_id == "agent-1");
    CHECK(v.created_at == 1'700'000'000'000'000);
    CHECK(v.first_response_at == 1'700'000'010'000'000);
    CHECK(v.solved_at == 1'700'000'050'000'000);
    CHECK_FALSE(v.closed_at);
    CHECK(v.reopened);
    CHECK_FALSE(v.breached_clock);
}

TEST_CASE("support projector: SlaBreached names its clock, and without one it is rejected", "[analytics][support]") {
    sev::SlaBreached e;
    *e.mutable_case_() = Snapshot(sv1::CASE_STATUS_NEW);
    e.set_metric(sv1::SLA_METRIC_RESOLUTION);
    const domain::Facts f = projection::Project(Envelope(e));
    REQUIRE(f.support.cases.size() == 1);
    CHECK(f.support.cases[0].breached_clock == domain::SlaClock::kResolution);
    e.set_metric(sv1::SLA_METRIC_UNSPECIFIED);
    CHECK_THROWS_AS(projection::Project(Envelope(e)), projection::UninterpretableEvent);
}

TEST_CASE("support projector: the SLA clocks of a reply and a solve give their business seconds",
          "[analytics][support]") {
    sev::CaseMessageAdded reply;
    *reply.mutable_case_() = Snapshot(sv1::CASE_STATUS_OPEN);
    reply.set_first_response(true);
    auto* fr = reply.add_sla_clocks();
    fr->set_metric(sv1::SLA_METRIC_FIRST_RESPONSE);
    fr->set_target_seconds(14400);
    fr->set_elapsed_seconds(5400);
    *fr->mutable_stop_time() = projection::ToTimestamp(1'700'000'010'000'000);
    fr->set_state(sv1::SLA_CLOCK_STATE_MET);
    auto* res = reply.add_sla_clocks();
    res->set_metric(sv1::SLA_METRIC_RESOLUTION);
    res->set_target_seconds(86400);
    res->set_elapsed_seconds(5400);
    res->set_state(sv1::SLA_CLOCK_STATE_RUNNING);
    const domain::Facts f = projection::Project(Envelope(reply));
    REQUIRE(f.support.cases.size() == 1);
    const domain::CaseVersion& v = f.support.cases[0];
    CHECK(v.first_response_sla == domain::SlaFigure{14400, 5400, true, false});
    CHECK(v.resolution_sla == domain::SlaFigure{86400, 5400, false, false});

    // A solve past its target; a status change without clocks (no SLA target) states none.
    sev::CaseStatusChanged solved;
    *solved.mutable_case_() = Snapshot(sv1::CASE_STATUS_SOLVED);
    auto* late = solved.add_sla_clocks();
    late->set_metric(sv1::SLA_METRIC_RESOLUTION);
    late->set_target_seconds(3600);
    late->set_elapsed_seconds(7200);
    *late->mutable_stop_time() = projection::ToTimestamp(1'700'000'050'000'000);
    late->set_state(sv1::SLA_CLOCK_STATE_BREACHED);
    const domain::CaseVersion s = projection::Project(Envelope(solved)).support.cases.at(0);
    CHECK_FALSE(s.first_response_sla);
    CHECK(s.resolution_sla == domain::SlaFigure{3600, 7200, true, true});
    solved.clear_sla_clocks();
    const domain::CaseVersion none = projection::Project(Envelope(solved)).support.cases.at(0);
    CHECK_FALSE(none.first_response_sla);
    CHECK_FALSE(none.resolution_sla);
    // Negative seconds cannot be interpreted.
    late = solved.add_sla_clocks();
    late->set_metric(sv1::SLA_METRIC_RESOLUTION);
    late->set_elapsed_seconds(-1);
    CHECK_THROWS_AS(projection::Project(Envelope(solved)), projection::UninterpretableEvent);
}

TEST_CASE("support projector: CsatRecorded gives an answer with who solved the case", "[analytics][support]") {
    sev::CsatRecorded e;
    *e.mutable_case_() = Snapshot(sv1::CASE_STATUS_SOLVED);
    e.set_survey_id("survey-1");
    e.set_score(4);
    e.set_agent_id("agent-2");
    e.set_queue_id("q2");
    *e.mutable_answer_time() = projection::ToTimestamp(1'700'000'090'000'000);
    const domain::Facts f = projection::Project(Envelope(e));
    REQUIRE(f.support.csat.size() == 1);
    const domain::CsatAnswer& a = f.support.csat[0];
    CHECK(a.survey_id == "survey-1");
    CHECK(a.case_id == "7a1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10");
    CHECK(a.score == 4);
    CHECK(a.agent_id == "agent-2");
    CHECK(a.queue_id == "q2");
    CHECK(a.answered_at == 1'700'000'090'000'000);
    e.set_score(6);
    CHECK_THROWS_AS(projection::Project(Envelope(e)), projection::UninterpretableEvent);
    e.set_score(5);
    e.clear_survey_id();
    CHECK_THROWS_AS(projection::Project(Envelope(e)), projection::UninterpretableEvent);
}

TEST_CASE("support projector: unreadable payloads and case ids are rejected, articles ignored",
          "[analytics][support]") {
    sev::CaseCreated e;
    *e.mutable_case_() = Snapshot(sv1::CASE_STATUS_NEW);
    auto env = Envelope(e);
    env.set_aggregate_version(0);
    CHECK_THROWS_AS(projection::Project(env), projection::UninterpretableEvent);
    e.mutable_case_()->set_id("not-a-uuid");
    env = Envelope(e);
    env.set_aggregate_id("also-not");
    CHECK_THROWS_AS(projection::Project(env), projection::UninterpretableEvent);
    env = Envelope(e);
    env.set_event_type("crm.support.events.v1.CaseAssigned");  // claims a type its payload is not
    CHECK_THROWS_AS(projection::Project(env), projection::UninterpretableEvent);
    sev::ArticlePublished a;
    CHECK(projection::Project(Envelope(a)).empty());
}
