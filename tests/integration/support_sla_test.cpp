// SLA policies and durable SLA timers through the gateway: the policy's round trip and its bad input (every field
// named); GetSlaStatus with business time, a pause and its resume, met clocks; warnings, breaches and escalations
// (notify, reassign, raise priority) fired exactly once per case while two replicas of the service run their
// schedulers against one database.
#include <catch2/catch.hpp>
#include <csignal>
#include <map>
#include <thread>

#include "../support/events.hpp"
#include "../support/support_client.hpp"
#include "crm/support/events/v1/events.pb.h"

using namespace crm::test;
using namespace std::chrono_literals;
namespace sev1 = crm::support::events::v1;

namespace {

// Round the clock in UTC, with the given first-response and resolution targets for NORMAL cases.
spv1::SlaPolicy AlwaysOpenPolicy(std::int64_t first_response, std::int64_t resolution) {
    spv1::SlaPolicy p;
    p.mutable_calendar()->set_time_zone("UTC");
    for (int d = spv1::DAY_OF_WEEK_MONDAY; d <= spv1::DAY_OF_WEEK_SUNDAY; ++d) {
        auto* h = p.mutable_calendar()->add_working_hours();
        h->set_day(static_cast<spv1::DayOfWeek>(d));
        h->set_start_time("00:00");
        h->set_end_time("24:00");
    }
    auto* t = p.add_targets();
    t->set_priority(spv1::CASE_PRIORITY_NORMAL);
    t->set_first_response_seconds(first_response);
    t->set_resolution_seconds(resolution);
    return p;
}

std::int64_t Seconds(const google::protobuf::Timestamp& t) { return t.seconds(); }

}  // namespace

TEST_CASE("support: the SLA policy round-trips and refuses bad input naming every field",
          "[integration][support][sla]") {
    const std::string tenant = UniqueTenant("sp");
    SupportClient api(TokenFor(tenant));
    CHECK(api.GetSlaPolicy({}).response.sla_policy().version() == 0);  // none yet

    spv1::UpdateSlaPolicyRequest bad;
    auto* p = bad.mutable_sla_policy();
    p->mutable_calendar()->set_time_zone("Mars/Olympus_Mons");
    auto* h = p->mutable_calendar()->add_working_hours();
    h->set_start_time("9:00");
    h->set_end_time("25:00");
    p->mutable_calendar()->add_holidays("2026-02-30");
    auto* t = p->add_targets();
    t->set_first_response_seconds(-5);
    t->set_customer_tier("Gold Tier");
    p->set_warning_percent(150);
    auto* r = p->add_escalations();
    r->set_action(spv1::ESCALATION_ACTION_REASSIGN);
    p->set_etag("whatever");
    auto refused = api.UpdateSlaPolicy(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"sla_policy.calendar.time_zone", "sla_policy.calendar.working_hours[0].day",
          "sla_policy.calendar.working_hours[0].start_time", "sla_policy.calendar.working_hours[0].end_time",
          "sla_policy.calendar.holidays[0]", "sla_policy.targets[0].priority",
          "sla_policy.targets[0].first_response_seconds", "sla_policy.targets[0].customer_tier",
          "sla_policy.warning_percent", "sla_policy.escalations[0].metric", "sla_policy.escalations[0].stage",
          "sla_policy.escalations[0].assignee_id", "sla_policy.etag"}) {
        INFO(field);
        CHECK(HasViolation(refused.status, field));
    }
    // Overlapping hours of one day are refused as a whole.
    spv1::UpdateSlaPolicyRequest overlap;
    *overlap.mutable_sla_policy() = AlwaysOpenPolicy(60, 120);
    auto* extra = overlap.mutable_sla_policy()->mutable_calendar()->add_working_hours();
    extra->set_day(spv1::DAY_OF_WEEK_MONDAY);
    extra->set_start_time("08:00");
    extra->set_end_time("09:00");
    CHECK(HasViolation(api.UpdateSlaPolicy(overlap).status, "sla_policy.calendar.working_hours"));
    CHECK(QueryScalar("support", "SELECT count(*) FROM sla_policies WHERE tenant_id = '" + tenant + "'") == "0");

    spv1::UpdateSlaPolicyRequest good;
    *good.mutable_sla_policy() = AlwaysOpenPolicy(3600, 86400);
    good.mutable_sla_policy()->mutable_calendar()->add_holidays("2026-12-25");
    auto stored = api.UpdateSlaPolicy(good);
    INFO(stored.status.error_message());
    REQUIRE(stored.ok());
    CHECK(stored.response.sla_policy().version() == 1);
    CHECK(stored.response.sla_policy().warning_percent() == 80);  // the default, made explicit
    const auto got = api.GetSlaPolicy({}).response.sla_policy();
    CHECK(got.calendar().time_zone() == "UTC");
    CHECK(got.calendar().working_hours_size() == 7);
    CHECK(got.calendar().holidays(0) == "2026-12-25");
    CHECK(got.etag() == "v1");
    good.mutable_sla_policy()->set_etag("v7");
    CHECK(api.UpdateSlaPolicy(good).status.error_code() == grpc::StatusCode::ABORTED);
    // Another tenant sees no policy.
    SupportClient other(TokenFor(UniqueTenant("sp")));
    CHECK(other.GetSlaPolicy({}).response.sla_policy().version() == 0);
}

TEST_CASE("support: GetSlaStatus counts business time without the paused interval", "[integration][support][sla]") {
    const std::string tenant = UniqueTenant("ss");
    SupportClient api(TokenFor(tenant));
    spv1::UpdateSlaPolicyRequest policy;
    *policy.mutable_sla_policy() = AlwaysOpenPolicy(3600, 7200);
    REQUIRE(api.UpdateSlaPolicy(policy).ok());
    const spv1::Case made = api.MustCreateCase("Clock me");
    spv1::GetSlaStatusRequest status;
    status.set_case_id(made.id());
    auto first = api.GetSlaStatus(status);
    REQUIRE(first.ok());
    REQUIRE(first.response.clocks_size() == 2);
    CHECK(first.response.time_zone() == "UTC");
    for (const auto& clock : first.response.clocks()) {
        CHECK(clock.state() == spv1::SLA_CLOCK_STATE_RUNNING);
        const std::int64_t target = clock.metric() == spv1::SLA_METRIC_FIRST_RESPONSE ? 3600 : 7200;
        CHECK(clock.target_seconds() == target);
        CHECK(Seconds(clock.due_time()) - Seconds(made.create_time()) >= target - 1);
        CHECK(Seconds(clock.due_time()) - Seconds(made.create_time()) <= target);
        CHECK(Seconds(clock.warning_time()) - Seconds(made.create_time()) <= target * 80 / 100);
    }

    // Waiting for the customer for 3 s: the clocks pause (no due time), then resume three seconds later.
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_PENDING_CUSTOMER);
    auto paused = api.GetSlaStatus(status);
    REQUIRE(paused.response.paused_intervals_size() == 1);
    CHECK_FALSE(paused.response.paused_intervals(0).has_end_time());
    for (const auto& clock : paused.response.clocks()) {
        CHECK(clock.state() == spv1::SLA_CLOCK_STATE_PAUSED);
        CHECK_FALSE(clock.has_due_time());
    }
    std::this_thread::sleep_for(3s);
    api.MustAddMessage(made.id(), spv1::MESSAGE_KIND_CUSTOMER_MESSAGE, "here is the log");
    auto resumed = api.GetSlaStatus(status);
    REQUIRE(resumed.response.paused_intervals_size() == 1);
    REQUIRE(resumed.response.paused_intervals(0).has_end_time());
    const std::int64_t pause = Seconds(resumed.response.paused_intervals(0).end_time()) -
                               Seconds(resumed.response.paused_intervals(0).start_time());
    CHECK(pause >= 2);
    for (const auto& clock : resumed.response.clocks()) {
        CHECK(clock.state() == spv1::SLA_CLOCK_STATE_RUNNING);
        // The due time moved by the pause; the elapsed business time does not count it.
        CHECK(Seconds(clock.due_time()) - Seconds(made.create_time()) >= clock.target_seconds() + pause - 1);
        CHECK(clock.elapsed_seconds() <= 2);
        CHECK(clock.remaining_seconds() == clock.target_seconds() - clock.elapsed_seconds());
    }

    // The first public reply stops the first-response clock (met); solving stops the resolution clock.
    api.MustAddMessage(made.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "fixed");
    api.MustChangeStatus(made.id(), spv1::CASE_STATUS_SOLVED);
    auto done = api.GetSlaStatus(status);
    for (const auto& clock : done.response.clocks()) {
        INFO(spv1::SlaMetric_Name(clock.metric()));
        CHECK(clock.state() == spv1::SLA_CLOCK_STATE_MET);
        CHECK(clock.has_stop_time());
        CHECK_FALSE(clock.has_due_time());
    }
    // Another tenant: NOT_FOUND; a bad id: INVALID_ARGUMENT naming it.
    SupportClient other(TokenFor(UniqueTenant("ss")));
    CHECK(other.GetSlaStatus(status).status.error_code() == grpc::StatusCode::NOT_FOUND);
    status.set_case_id("nope");
    CHECK(HasViolation(api.GetSlaStatus(status).status, "case_id"));
}

TEST_CASE("support: SLA warnings, breaches and escalations fire exactly once with two replicas",
          "[integration][support][sla]") {
    // A second replica of the service, on its own ports, against the same database and broker.
    const int port = FreePort();
    ChildProcess replica(CRM_SUPPORT_BINARY, {},
                         {{"CRM_GRPC_LISTEN", "127.0.0.1:" + std::to_string(port)},
                          {"CRM_METRICS_LISTEN", "127.0.0.1:" + std::to_string(FreePort())},
                          {"CRM_DB_URL", RequireEnv("CRM_SUPPORT_DB_URL")},
                          {"CRM_DB_ADMIN_URL", RequireEnv("CRM_SUPPORT_DB_ADMIN_URL")},
                          {"CRM_KAFKA_BROKERS", RequireEnv("CRM_TEST_KAFKA")},
                          {"CRM_INTERNAL_KEY", RequireEnv("CRM_INTERNAL_KEY")},
                          {"CRM_MIGRATIONS_DIR", CRM_SOURCE_DIR "/services/support/migrations"},
                          {"CRM_SUPPORT_SLA_SCAN_INTERVAL_MS", "100"},
                          {"CRM_SUPPORT_CONTACTS_ADDR", ""},
                          {"CRM_SHUTDOWN_GRACE_SECONDS", "5"},
                          {"CRM_LOG_LEVEL", "info"}},
                         "/tmp/crm-support-sla-replica.log");
    REQUIRE(WaitServing("127.0.0.1:" + std::to_string(port), 30s));

    const std::string tenant = UniqueTenant("sl");
    SupportClient api(TokenFor(tenant));
    spv1::UpdateSlaPolicyRequest policy;
    *policy.mutable_sla_policy() = AlwaysOpenPolicy(3, 0);  // first response within 3 s, no resolution target
    policy.mutable_sla_policy()->set_warning_percent(50);
    auto add_rule = [&](spv1::SlaStage stage, spv1::EscalationAction action, const std::string& assignee) {
        auto* r = policy.mutable_sla_policy()->add_escalations();
        r->set_metric(spv1::SLA_METRIC_FIRST_RESPONSE);
        r->set_stage(stage);
        r->set_action(action);
        r->set_assignee_id(assignee);
    };
    add_rule(spv1::SLA_STAGE_WARNING, spv1::ESCALATION_ACTION_NOTIFY, "");
    add_rule(spv1::SLA_STAGE_BREACH, spv1::ESCALATION_ACTION_REASSIGN, "manager-1");
    add_rule(spv1::SLA_STAGE_BREACH, spv1::ESCALATION_ACTION_RAISE_PRIORITY, "");
    REQUIRE(api.UpdateSlaPolicy(policy).ok());

    EventTap tap("crm.support.v1");
    constexpr int kCases = 12;
    std::vector<std::string> ids;
    for (int i = 0; i < kCases; ++i) ids.push_back(api.MustCreateCase("Case " + std::to_string(i)).id());
    // A case answered in time never warns nor breaches.
    const spv1::Case answered = api.MustCreateCase("Answered at once");
    api.MustAddMessage(answered.id(), spv1::MESSAGE_KIND_PUBLIC_REPLY, "hello");

    // Per breached case: CaseCreated, SlaWarning, CaseEscalated (notify), SlaBreached, CaseEscalated x2; the answered
    // case: CaseCreated, CaseMessageAdded, CaseStatusChanged.
    auto events = tap.WaitFor(tenant, kCases * 6 + 3, 40s, 3s);
    std::map<std::string, std::map<std::string, int>> seen;  // case -> event (with action) -> count
    for (const auto& e : events) {
        std::string type = e.envelope.event_type().substr(std::string("crm.support.events.v1.").size());
        if (type == "CaseEscalated") {
            sev1::CaseEscalated escalated;
            REQUIRE(e.envelope.payload().UnpackTo(&escalated));
            type += "/" + spv1::EscalationAction_Name(escalated.action());
        }
        ++seen[e.envelope.aggregate_id()][type];
    }
    CHECK(events.size() == static_cast<std::size_t>(kCases * 6 + 3));
    for (const auto& id : ids) {
        INFO("case " << id);
        const std::map<std::string, int> expected = {{"CaseCreated", 1},
                                                     {"SlaWarning", 1},
                                                     {"SlaBreached", 1},
                                                     {"CaseEscalated/ESCALATION_ACTION_NOTIFY", 1},
                                                     {"CaseEscalated/ESCALATION_ACTION_REASSIGN", 1},
                                                     {"CaseEscalated/ESCALATION_ACTION_RAISE_PRIORITY", 1}};
        CHECK(seen[id] == expected);
        spv1::GetCaseRequest get;
        get.set_id(id);
        const spv1::Case c = api.GetCase(get).response.case_();
        CHECK(c.priority() == spv1::CASE_PRIORITY_HIGH);  // raised once from NORMAL
        CHECK(c.assignee_id() == "manager-1");
        spv1::GetSlaStatusRequest status;
        status.set_case_id(id);
        const auto clocks = api.GetSlaStatus(status).response.clocks();
        REQUIRE(clocks.size() == 1);
        CHECK(clocks[0].state() == spv1::SLA_CLOCK_STATE_BREACHED);
        CHECK(clocks[0].remaining_seconds() < 0);
    }
    CHECK(seen[answered.id()].count("SlaWarning") == 0);
    CHECK(seen[answered.id()].count("SlaBreached") == 0);
    // Both schedulers were running (the replica is still alive) and each timer row was marked once.
    CHECK(QueryScalar("support", "SELECT count(*) FROM sla_timers WHERE tenant_id = '" + tenant +
                                     "' AND breached_time IS NOT NULL") == std::to_string(kCases));
    replica.Signal(SIGTERM);
    CHECK(replica.Wait(20s) == 0);
}
