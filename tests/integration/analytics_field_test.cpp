// Field-service KPIs (GetFieldKpis) against the real stack, through the gateway:
// - a work order driven through the real field-service service (technician, booking, dispatch, en route, on site,
//   completion), the expected figures computed from the times the service returned;
// - a scripted history published to crm.fieldservice.v1 exactly as field service's outbox publishes it, with
//   explicit past times (technicians in two time zones with time off and a later move, an inactive one, completions
//   with and without windows and transitions), duplicates and out-of-order delivery, against figures worked out by
//   hand (those of services/analytics/tests/field_kpis_test.cpp);
// - rebuild (row-by-row comparison of the field read model), bad input, roles and tenant isolation.
#include <crm/analytics/v1/analytics.grpc.pb.h>
#include <crm/common/v1/event.pb.h>
#include <crm/fieldservice/events/v1/events.pb.h>
#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <thread>

#include "../support/analytics_client.hpp"
#include "../support/events.hpp"
#include "../support/fieldservice_client.hpp"
#include "../support/harness.hpp"
#include "../support/wait.hpp"
#include "crm/common/crypto.hpp"

using namespace crm::test;
using namespace std::chrono_literals;
namespace av1 = crm::analytics::v1;
namespace cc = crm::common;
namespace fev = crm::fieldservice::events::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kT0 = 1772409600LL * kSecond;  // 2026-03-02 00:00 UTC, a Monday
int64_t H(double hours) { return kT0 + static_cast<int64_t>(hours * kHour); }
google::protobuf::Timestamp At(int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); }
int64_t Micros(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToMicroseconds(t); }

av1::GetFieldKpisRequest Period(int64_t start, int64_t end) {
    av1::GetFieldKpisRequest r;
    *r.mutable_start_time() = At(start);
    *r.mutable_end_time() = At(end);
    return r;
}

const av1::FieldKpis* Group(const google::protobuf::RepeatedPtrField<av1::FieldKpiGroup>& groups,
                            const std::string& id) {
    for (const auto& g : groups) {
        if (g.id() == id) return &g.kpis();
    }
    return nullptr;
}

OutgoingEvent Event(const std::string& tenant, const std::string& type, const std::string& id, int64_t version,
                    int64_t at, const google::protobuf::Message& payload) {
    cc::v1::EventEnvelope env;
    env.set_event_id(cc::NewUuid());
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("fieldservice");
    env.set_tenant_id(tenant);
    env.set_aggregate_type(type);
    env.set_aggregate_id(id);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = At(at);
    env.mutable_payload()->PackFrom(payload);
    return {"crm.fieldservice.v1", id, env.SerializeAsString(), env.event_id(), tenant};
}

struct Ids {
    std::string t1 = cc::NewUuid(), t2 = cc::NewUuid(), t3 = cc::NewUuid();
};

fv1::Technician TechSnapshot(const std::string& id, const std::string& territory, const std::string& zone,
                             const std::vector<int>& days, int start_minute, int end_minute, bool active) {
    fv1::Technician t;
    t.set_id(id);
    t.set_display_name("T");
    t.set_territory(territory);
    t.set_time_zone(zone);
    t.set_active(active);
    for (int d : days) {
        auto* h = t.add_working_hours();
        h->set_weekday(d);
        h->set_start_minute(start_minute);
        h->set_end_minute(end_minute);
    }
    return t;
}

constexpr double kNoTransitions = -1e9;

// A completion with transitions EN_ROUTE, ON_SITE, COMPLETED at the given hours (none with kNoTransitions).
OutgoingEvent Completion(const std::string& tenant, const std::string& tech, double created, double en_route,
                         double on_site, double completed, bool ftf, bool window, bool kept, int64_t travel_s = 0,
                         int64_t duration_s = 0) {
    fev::WorkOrderCompleted e;
    auto& w = *e.mutable_work_order();
    w.set_id(cc::NewUuid());
    w.set_status(fv1::WORK_ORDER_STATUS_COMPLETED);
    *w.mutable_create_time() = At(H(created));
    w.mutable_appointment()->set_technician_id(tech);
    if (window) {
        auto* tw = w.add_time_windows();
        *tw->mutable_start_time() = At(H(created));
        *tw->mutable_end_time() = At(H(completed));
    }
    auto change = [&](fv1::WorkOrderStatus s, double hour) {
        auto* c = w.add_history();
        c->set_to_status(s);
        *c->mutable_change_time() = At(H(hour));
    };
    if (en_route != kNoTransitions) {
        change(fv1::WORK_ORDER_STATUS_EN_ROUTE, en_route);
        change(fv1::WORK_ORDER_STATUS_ON_SITE, on_site);
        change(fv1::WORK_ORDER_STATUS_COMPLETED, completed);
    }
    *w.mutable_completion()->mutable_complete_time() = At(H(completed));
    e.set_first_time_fix(ftf);
    e.set_window_kept(kept);
    e.set_travel_seconds(travel_s);
    e.set_duration_seconds(duration_s);
    return Event(tenant, "work_order", w.id(), 7, H(completed), e);
}

std::vector<OutgoingEvent> ScriptedHistory(const std::string& tenant, const Ids& ids) {
    std::vector<OutgoingEvent> m;
    fev::TechnicianCreated c1;
    *c1.mutable_technician() = TechSnapshot(ids.t1, "north", "Europe/Berlin", {1, 2, 3, 4, 5}, 480, 960, true);
    auto* off = c1.mutable_technician()->add_time_off();
    *off->mutable_window()->mutable_start_time() = At(H(48 + 7));  // Wednesday 08:00-12:00 Berlin
    *off->mutable_window()->mutable_end_time() = At(H(48 + 11));
    m.push_back(Event(tenant, "technician", ids.t1, 1, H(-100), c1));
    fev::TechnicianCreated c2;
    *c2.mutable_technician() = TechSnapshot(ids.t2, "south", "UTC", {1}, 540, 1020, true);
    m.push_back(Event(tenant, "technician", ids.t2, 1, H(-100), c2));
    fev::TechnicianUpdated u2;  // moved after the week (published before its creation: out of order)
    *u2.mutable_technician() = TechSnapshot(ids.t2, "north", "UTC", {1}, 540, 1020, true);
    m.insert(m.begin(), Event(tenant, "technician", ids.t2, 2, H(200), u2));
    fev::TechnicianCreated c3;
    *c3.mutable_technician() = TechSnapshot(ids.t3, "north", "UTC", {1, 2, 3, 4, 5}, 480, 960, false);
    m.push_back(Event(tenant, "technician", ids.t3, 1, H(-100), c3));
    // w1: travel 1 h, on site 2 h, 11 h from creation, window kept. w2: travel 2 h, on site 1 h, 57 h, window
    // missed, not fixed first time. w3: no transitions (30 min travel and 90 min on site as booked), no window.
    // w4: after the week.
    m.push_back(Completion(tenant, ids.t1, 0, 8, 9, 11, true, true, true));
    m.push_back(Completion(tenant, ids.t1, -24, 30, 32, 33, false, true, false));
    m.push_back(Completion(tenant, ids.t2, 24, kNoTransitions, 0, 40, true, false, true, 1800, 5400));
    m.push_back(Completion(tenant, ids.t2, 24, 198, 199, 200, true, false, false));
    m.push_back(m[4]);  // redelivered
    return m;
}

long FieldRows(const std::string& tenant) {
    return std::stol(QueryScalar(
        "analytics", "SELECT (SELECT count(*) FROM analytics_field_completions WHERE tenant_id = '" + tenant +
                         "') + (SELECT count(*) FROM "
                         "analytics_field_technician_versions WHERE tenant_id = '" +
                         tenant + "')"));
}

void CheckScriptedWeek(const av1::GetFieldKpisResponse& r, const Ids& ids) {
    const auto& t = r.total();
    CHECK(t.first_time_fix().numerator() == 2);
    CHECK(t.first_time_fix().denominator() == 3);
    CHECK(t.time_to_complete().count() == 3);
    CHECK(t.time_to_complete().total_seconds() == 84 * 3600);
    CHECK(t.time_to_complete().average_seconds() == 28 * 3600);
    CHECK(t.on_site().total_seconds() == 9 * 1800);
    CHECK(t.travel().total_seconds() == 7 * 1800);
    CHECK(t.travel_share() == Approx(3.5 / 8));
    CHECK(t.window_kept().numerator() == 1);
    CHECK(t.window_kept().denominator() == 2);
    CHECK(t.worked_seconds() == 8 * 3600);
    CHECK(t.available_seconds() == 44 * 3600);  // t1: 5 x 8 h - 4 h off; t2: one Monday; t3 inactive
    CHECK(t.utilisation() == Approx(8.0 / 44));
    const av1::FieldKpis* t1 = Group(r.technicians(), ids.t1);
    REQUIRE(t1 != nullptr);
    CHECK(t1->available_seconds() == 36 * 3600);
    CHECK(t1->worked_seconds() == 6 * 3600);
    const av1::FieldKpis* south = Group(r.territories(), "south");
    REQUIRE(south != nullptr);
    CHECK(south->worked_seconds() == 2 * 3600);
    CHECK(south->available_seconds() == 8 * 3600);
    CHECK(Group(r.technicians(), ids.t3) == nullptr);
}

}  // namespace

TEST_CASE("analytics field KPIs: a scripted history gives the figures computed by hand",
          "[integration][analytics][field_kpis]") {
    const std::string tenant = UniqueTenant("afk");
    const Ids ids;
    ProduceEvents(ScriptedHistory(tenant, ids));
    AnalyticsClient api(TokenFor(tenant, {"dispatcher"}));
    const auto week = Period(H(0), H(168));
    av1::GetFieldKpisResponse r;
    REQUIRE(Eventually([&] { return FieldRows(tenant) == 8; }));  // 4 technician versions, 4 completions
    REQUIRE(api.Kpis(week, &r).ok());
    CheckScriptedWeek(r, ids);

    SECTION("filters by territory and technician; t2 counts for north after its move") {
        auto req = week;
        req.set_territory("north");
        REQUIRE(api.Kpis(req, &r).ok());
        CHECK(r.total().worked_seconds() == 6 * 3600);
        CHECK(r.total().available_seconds() == 36 * 3600);
        auto later = Period(H(0), H(240));
        later.set_technician_id(ids.t2);
        REQUIRE(api.Kpis(later, &r).ok());
        CHECK(r.total().first_time_fix().denominator() == 2);
        REQUIRE(r.territories_size() == 1);
        CHECK(r.territories(0).id() == "north");
    }
    SECTION("another tenant sees none of it") {
        AnalyticsClient other(TokenFor(UniqueTenant("afk2"), {"analyst"}));
        REQUIRE(other.Kpis(week, &r).ok());
        CHECK(r.total().first_time_fix().denominator() == 0);
        CHECK(r.total().available_seconds() == 0);
        CHECK(r.technicians_size() == 0);
    }
    SECTION("a rebuild compares the field read model row by row and keeps the figures") {
        AnalyticsClient admin(TokenFor(tenant, {"admin"}));
        av1::RebuildProjectionsRequest check;
        check.set_scope(av1::REBUILD_SCOPE_TENANT);
        check.set_validate_only(true);
        av1::RebuildProjectionsResponse rb;
        REQUIRE(admin.Rebuild(check, &rb).ok());
        CHECK(rb.consistent());
        std::map<std::string, av1::ProjectionCounts> p;
        for (const auto& x : rb.tenants(0).projections()) p[x.projection()] = x;
        CHECK(p["field_completions"].live_rows() == 4);
        CHECK(p["field_completions"].rebuilt_rows() == 4);
        CHECK(p["field_technicians"].rebuilt_rows() == 4);
        av1::RebuildProjectionsRequest swap;
        swap.set_scope(av1::REBUILD_SCOPE_TENANT);
        REQUIRE(admin.Rebuild(swap, &rb).ok());
        CHECK(rb.tenants(0).swapped());
        REQUIRE(api.Kpis(week, &r).ok());
        CheckScriptedWeek(r, ids);
    }
}

TEST_CASE("analytics field KPIs: a work order completed through the real field service",
          "[integration][analytics][field_kpis]") {
    const std::string tenant = UniqueTenant("afr");
    FieldServiceClient fs(TokenFor(tenant, {"dispatcher"}));
    AnalyticsClient api(TokenFor(tenant, {"analyst"}));
    const int64_t now_s = TimeUtil::GetCurrentTime().seconds();
    // A technician who works around the clock in UTC every day, so that a slot is free now whatever the day.
    fv1::CreateTechnicianRequest tr;
    auto* tp = tr.mutable_technician();
    tp->set_user_id("kpi");
    tp->set_display_name("Tech kpi");
    tp->mutable_home_base()->set_latitude(52.52);
    tp->mutable_home_base()->set_longitude(13.405);
    tp->set_time_zone("UTC");
    tp->set_territory("east");
    auto* skill = tp->add_skills();
    skill->set_skill("hvac");
    skill->set_level(3);
    for (int wd = 0; wd <= 6; ++wd) {
        auto* h = tp->add_working_hours();
        h->set_weekday(wd);
        h->set_start_minute(0);
        h->set_end_minute(1440);
    }
    auto made = fs.CreateTechnician(tr);
    INFO(made.status.error_message());
    REQUIRE(made.ok());
    const fv1::Technician tech = made.response.technician();
    const auto wo = MustWorkOrder(fs, {.duration_minutes = 30, .windows = {Window(now_s - 3600, now_s + 4 * 3600)}});
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(wo.id());
    d.set_technician_id(tech.id());
    const auto booked = fs.DispatchWorkOrder(d);
    INFO(booked.status.error_message());
    REQUIRE(booked.ok());
    auto change = [&](fv1::WorkOrderStatus to) {
        fv1::ChangeWorkOrderStatusRequest c;
        c.set_id(wo.id());
        c.set_status(to);
        auto r = fs.ChangeWorkOrderStatus(c);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
        return r.response.work_order();
    };
    change(fv1::WORK_ORDER_STATUS_DISPATCHED);
    change(fv1::WORK_ORDER_STATUS_EN_ROUTE);
    std::this_thread::sleep_for(1100ms);  // a measurable travel
    change(fv1::WORK_ORDER_STATUS_ON_SITE);
    std::this_thread::sleep_for(1100ms);
    fv1::CompleteWorkOrderRequest done;
    done.set_id(wo.id());
    auto completed = fs.CompleteWorkOrder(done);
    INFO(completed.status.error_message());
    REQUIRE(completed.ok());
    const fv1::WorkOrder& w = completed.response.work_order();
    int64_t en_route = 0, on_site = 0;
    for (const auto& h : w.history()) {
        if (h.to_status() == fv1::WORK_ORDER_STATUS_EN_ROUTE) en_route = Micros(h.change_time());
        if (h.to_status() == fv1::WORK_ORDER_STATUS_ON_SITE) on_site = Micros(h.change_time());
    }
    const int64_t complete = Micros(w.completion().complete_time());
    REQUIRE(en_route > 0);
    REQUIRE(on_site > en_route);
    REQUIRE(complete > on_site);

    // Two UTC days from today: the technician works all of them.
    const int64_t day = now_s / 86400;
    const auto req = Period(day * 86400 * kSecond, (day + 2) * 86400 * kSecond);
    const int64_t expected_available = 48 * 3600;
    av1::GetFieldKpisResponse r;
    REQUIRE(Eventually([&] { return api.Kpis(req, &r).ok() && r.total().first_time_fix().denominator() == 1; }));
    const auto& t = r.total();
    CHECK(t.first_time_fix().numerator() == 1);  // no support case: fixed on the first visit
    CHECK(t.travel().total_seconds() == (on_site - en_route + kSecond / 2) / kSecond);
    CHECK(t.on_site().total_seconds() == (complete - on_site + kSecond / 2) / kSecond);
    CHECK(t.time_to_complete().total_seconds() == (complete - Micros(w.create_time()) + kSecond / 2) / kSecond);
    CHECK(t.window_kept().numerator() == 1);
    CHECK(t.window_kept().denominator() == 1);
    CHECK(t.available_seconds() == expected_available);
    const av1::FieldKpis* east = Group(r.territories(), "east");
    REQUIRE(east != nullptr);
    CHECK(east->first_time_fix().denominator() == 1);
    REQUIRE(Group(r.technicians(), tech.id()) != nullptr);
}

TEST_CASE("analytics field KPIs: bad input and roles", "[integration][analytics][field_kpis]") {
    const std::string tenant = UniqueTenant("afb");
    AnalyticsClient api(TokenFor(tenant, {"analyst"}));
    av1::GetFieldKpisResponse r;
    grpc::Status st = api.Kpis(av1::GetFieldKpisRequest{}, &r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "start_time"));
    CHECK(HasViolation(st, "end_time"));
    auto bad = Period(H(10), H(5));
    bad.set_technician_id(std::string("t\0x", 3));
    bad.set_territory(std::string(201, 'n'));
    st = api.Kpis(bad, &r);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(st, "end_time"));
    CHECK(HasViolation(st, "technician_id"));
    CHECK(HasViolation(st, "territory"));

    const auto week = Period(H(0), H(168));
    for (const char* role : {"admin", "analyst", "dispatcher"}) {
        INFO(role);
        CHECK(AnalyticsClient(TokenFor(tenant, {role})).Kpis(week, &r).ok());
    }
    for (const char* role : {"technician", "support_manager", "sales_manager", "read_only"}) {
        INFO(role);
        CHECK(AnalyticsClient(TokenFor(tenant, {role})).Kpis(week, &r).error_code() ==
              grpc::StatusCode::PERMISSION_DENIED);
    }
}
