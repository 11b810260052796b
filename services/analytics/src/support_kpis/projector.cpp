#include "support_kpis/projector.hpp"

#include <crm/common/v1/event.pb.h>
#include <crm/support/events/v1/events.pb.h>

#include "projection/projector.hpp"
#include "projection/proto_time.hpp"

namespace crm::analytics::support {

namespace {

namespace sev = crm::support::events::v1;
namespace sv1 = crm::support::v1;
using projection::OccurredAt;
using projection::ToMicros;
using projection::UninterpretableEvent;
using projection::Unpack;
using projection::UuidOrEmpty;

std::optional<domain::CaseState> State(sv1::CaseStatus s) {
    switch (s) {
        case sv1::CASE_STATUS_NEW:
            return domain::CaseState::kNew;
        case sv1::CASE_STATUS_OPEN:
            return domain::CaseState::kOpen;
        case sv1::CASE_STATUS_PENDING_CUSTOMER:
            return domain::CaseState::kPendingCustomer;
        case sv1::CASE_STATUS_ON_HOLD:
            return domain::CaseState::kOnHold;
        case sv1::CASE_STATUS_SOLVED:
            return domain::CaseState::kSolved;
        case sv1::CASE_STATUS_CLOSED:
            return domain::CaseState::kClosed;
        case sv1::CASE_STATUS_MERGED:
            return domain::CaseState::kMerged;
        default:
            return std::nullopt;  // not stated
    }
}

std::optional<domain::Micros> Time(const google::protobuf::Timestamp& t, bool present) {
    if (!present) return std::nullopt;
    return ToMicros(t);
}

domain::CaseVersion FromCase(const common::v1::EventEnvelope& env, const std::string& type, const sv1::Case& c) {
    domain::CaseVersion v;
    v.case_id = UuidOrEmpty(c.id());
    if (v.case_id.empty()) v.case_id = UuidOrEmpty(env.aggregate_id());
    if (v.case_id.empty()) throw UninterpretableEvent(env.event_type() + " without a valid case id");
    if (env.aggregate_version() < 1) throw UninterpretableEvent(env.event_type() + " without an aggregate version");
    v.version = env.aggregate_version();
    v.event_id = env.event_id();
    v.occurred_at = OccurredAt(env);
    v.event_type = type;
    v.status = State(c.status());
    v.queue_id = c.queue_id();
    v.assignee_id = c.assignee_id();
    v.created_at = Time(c.create_time(), c.has_create_time());
    v.first_response_at = Time(c.first_response_time(), c.has_first_response_time());
    v.solved_at = Time(c.solve_time(), c.has_solve_time());
    v.closed_at = Time(c.close_time(), c.has_close_time());
    return v;
}

// The clocks an event states (business seconds), on its version.
void ReadClocks(const google::protobuf::RepeatedPtrField<sv1::SlaClock>& clocks, domain::CaseVersion& v) {
    for (const auto& c : clocks) {
        if (c.target_seconds() < 0 || c.elapsed_seconds() < 0) {
            throw UninterpretableEvent("an SLA clock with negative seconds");
        }
        domain::SlaFigure f;
        f.target_seconds = c.target_seconds();
        f.elapsed_seconds = c.elapsed_seconds();
        f.stopped = c.has_stop_time();
        f.breached = c.state() == sv1::SLA_CLOCK_STATE_BREACHED;
        if (c.metric() == sv1::SLA_METRIC_FIRST_RESPONSE) {
            v.first_response_sla = f;
        } else if (c.metric() == sv1::SLA_METRIC_RESOLUTION) {
            v.resolution_sla = f;
        }
    }
}

}  // namespace

domain::SupportFacts Project(const common::v1::EventEnvelope& env) {
    const std::string type = env.event_type().substr(sizeof(kEventPrefix) - 1);
    domain::SupportFacts f;
    auto add = [&](const sv1::Case& c) -> domain::CaseVersion& {
        f.cases.push_back(FromCase(env, type, c));
        return f.cases.back();
    };
    if (type == "CaseCreated") {
        add(Unpack<sev::CaseCreated>(env).case_());
    } else if (type == "CaseUpdated") {
        add(Unpack<sev::CaseUpdated>(env).case_());
    } else if (type == "CaseStatusChanged") {
        const auto e = Unpack<sev::CaseStatusChanged>(env);
        domain::CaseVersion& v = add(e.case_());
        v.reopened = e.reopened();
        ReadClocks(e.sla_clocks(), v);
    } else if (type == "CaseAssigned") {
        add(Unpack<sev::CaseAssigned>(env).case_());
    } else if (type == "CaseMerged") {
        add(Unpack<sev::CaseMerged>(env).case_());
    } else if (type == "CaseMessageAdded") {
        const auto e = Unpack<sev::CaseMessageAdded>(env);
        ReadClocks(e.sla_clocks(), add(e.case_()));
    } else if (type == "SlaWarning") {
        add(Unpack<sev::SlaWarning>(env).case_());
    } else if (type == "SlaBreached") {
        const auto e = Unpack<sev::SlaBreached>(env);
        domain::CaseVersion& v = add(e.case_());
        ReadClocks(e.sla_clocks(), v);
        if (e.metric() == sv1::SLA_METRIC_FIRST_RESPONSE) {
            v.breached_clock = domain::SlaClock::kFirstResponse;
        } else if (e.metric() == sv1::SLA_METRIC_RESOLUTION) {
            v.breached_clock = domain::SlaClock::kResolution;
        } else {
            throw UninterpretableEvent("SlaBreached without a metric");
        }
    } else if (type == "CaseEscalated") {
        add(Unpack<sev::CaseEscalated>(env).case_());
    } else if (type == "CsatRecorded") {
        const auto e = Unpack<sev::CsatRecorded>(env);
        add(e.case_());
        if (e.score() < 1 || e.score() > 5) throw UninterpretableEvent("CsatRecorded with a score outside 1..5");
        if (e.survey_id().empty()) throw UninterpretableEvent("CsatRecorded without a survey id");
        domain::CsatAnswer a;
        a.survey_id = e.survey_id();
        a.case_id = f.cases.back().case_id;
        a.event_id = env.event_id();
        a.answered_at = e.has_answer_time() ? ToMicros(e.answer_time()) : OccurredAt(env);
        a.score = e.score();
        a.agent_id = e.agent_id();
        a.queue_id = e.queue_id();
        f.csat.push_back(std::move(a));
    }
    // ArticlePublished (knowledge base) feeds no support KPI.
    return f;
}

}  // namespace crm::analytics::support
