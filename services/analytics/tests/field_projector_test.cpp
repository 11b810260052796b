// Field-service events -> field facts, without I/O: a completion's travel and on-site time from its status
// transitions (or, without them, from the event), windows, the technician's working hours; payloads that cannot be
// interpreted are rejected (the consumer dead-letters them), other events ignored.
#include <crm/common/v1/event.pb.h>
#include <crm/fieldservice/events/v1/events.pb.h>

#include <catch2/catch.hpp>

#include "domain/facts.hpp"
#include "field_kpis/projector.hpp"
#include "projection/projector.hpp"
#include "projection/proto_time.hpp"

using namespace crm::analytics;
namespace fev = crm::fieldservice::events::v1;
namespace fv1 = crm::fieldservice::v1;

namespace {

const std::string kId = "8B1C2A64-8A8E-4C1B-9E0C-3C6E5B7A9D10";
const std::string kEventId = "2d6c1c0e-5f33-4b8c-9b7e-2a8f0f4b1e11";
constexpr int64_t kS = 1000000;
constexpr int64_t kBase = 1'700'000'000'000'000;

crm::common::v1::EventEnvelope Envelope(const google::protobuf::Message& payload, int64_t version = 6) {
    crm::common::v1::EventEnvelope env;
    env.set_event_id(kEventId);
    env.set_event_type(std::string(payload.GetDescriptor()->full_name()));
    env.set_source("fieldservice");
    env.set_tenant_id("acme");
    env.set_aggregate_type("work_order");
    env.set_aggregate_id(kId);
    env.set_aggregate_version(version);
    *env.mutable_occurred_at() = projection::ToTimestamp(kBase + 9000 * kS);
    env.mutable_payload()->PackFrom(payload);
    return env;
}

void Change(fv1::WorkOrder& w, fv1::WorkOrderStatus to, int64_t seconds) {
    auto* c = w.add_history();
    c->set_to_status(to);
    *c->mutable_change_time() = projection::ToTimestamp(kBase + seconds * kS);
}

fev::WorkOrderCompleted Completed() {
    fev::WorkOrderCompleted e;
    auto& w = *e.mutable_work_order();
    w.set_id(kId);
    w.set_status(fv1::WORK_ORDER_STATUS_COMPLETED);
    *w.mutable_create_time() = projection::ToTimestamp(kBase);
    w.mutable_appointment()->set_technician_id("tech-1");
    auto* window = w.add_time_windows();
    *window->mutable_start_time() = projection::ToTimestamp(kBase);
    *window->mutable_end_time() = projection::ToTimestamp(kBase + 7200 * kS);
    Change(w, fv1::WORK_ORDER_STATUS_SCHEDULED, 100);
    Change(w, fv1::WORK_ORDER_STATUS_EN_ROUTE, 3000);
    Change(w, fv1::WORK_ORDER_STATUS_ON_SITE, 4800);
    Change(w, fv1::WORK_ORDER_STATUS_COMPLETED, 8400);
    *w.mutable_completion()->mutable_complete_time() = projection::ToTimestamp(kBase + 8400 * kS);
    e.set_duration_seconds(3600);
    e.set_travel_seconds(900);
    e.set_first_time_fix(true);
    e.set_window_kept(true);
    return e;
}

}  // namespace

TEST_CASE("field projector: a completion's times come from its status transitions", "[analytics][field]") {
    const domain::Facts f = projection::Project(Envelope(Completed()));
    REQUIRE(f.field.completions.size() == 1);
    CHECK(f.field.technicians.empty());
    const domain::WorkCompletion& c = f.field.completions[0];
    CHECK(c.work_order_id == "8b1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10");
    CHECK(c.version == 6);
    CHECK(c.event_id == kEventId);
    CHECK(c.created_at == kBase);
    CHECK(c.completed_at == kBase + 8400 * kS);
    CHECK(c.arrived_at == kBase + 4800 * kS);
    CHECK(c.travel_micros == 1800 * kS);   // EN_ROUTE -> ON_SITE, not the booked 900 s
    CHECK(c.on_site_micros == 3600 * kS);  // ON_SITE -> COMPLETED
    CHECK(c.technician_id == "tech-1");
    CHECK(c.first_time_fix);
    CHECK(c.has_windows);
    CHECK(c.window_kept);
}

TEST_CASE("field projector: without transitions the event's durations count, and no window is not 'kept'",
          "[analytics][field]") {
    fev::WorkOrderCompleted e = Completed();
    e.mutable_work_order()->clear_history();
    e.mutable_work_order()->clear_time_windows();
    const domain::WorkCompletion c = projection::Project(Envelope(e)).field.completions.at(0);
    CHECK(c.travel_micros == 900 * kS);
    CHECK(c.on_site_micros == 3600 * kS);
    CHECK_FALSE(c.arrived_at);
    CHECK_FALSE(c.has_windows);
    CHECK_FALSE(c.window_kept);  // the service says "kept" when there was no window: not counted
    e.set_duration_seconds(-1);
    CHECK_THROWS_AS(projection::Project(Envelope(e)), projection::UninterpretableEvent);
}

TEST_CASE("field projector: technicians with working hours and time off", "[analytics][field]") {
    fev::TechnicianUpdated e;
    auto& t = *e.mutable_technician();
    t.set_id(kId);
    t.set_territory("north");
    t.set_time_zone("Europe/Berlin");
    t.set_active(true);
    auto* h = t.add_working_hours();
    h->set_weekday(1);
    h->set_start_minute(480);
    h->set_end_minute(960);
    auto* off = t.add_time_off();
    *off->mutable_window()->mutable_start_time() = projection::ToTimestamp(kBase);
    *off->mutable_window()->mutable_end_time() = projection::ToTimestamp(kBase + 3600 * kS);
    const domain::Facts f = projection::Project(Envelope(e, 3));
    REQUIRE(f.field.technicians.size() == 1);
    const domain::TechnicianVersion& v = f.field.technicians[0];
    CHECK(v.technician_id == "8b1c2a64-8a8e-4c1b-9e0c-3c6e5b7a9d10");
    CHECK(v.version == 3);
    CHECK(v.territory == "north");
    CHECK(v.time_zone == "Europe/Berlin");
    CHECK(v.active);
    CHECK(v.working_hours == std::vector<domain::WorkingHours>{{1, 480, 960}});
    CHECK(v.time_off == std::vector<domain::TimeOff>{{kBase, kBase + 3600 * kS}});
    h->set_end_minute(1441);
    CHECK_THROWS_AS(projection::Project(Envelope(e)), projection::UninterpretableEvent);
}

TEST_CASE("field projector: other field events are ignored, bad ids rejected", "[analytics][field]") {
    fev::WorkOrderDispatched d;
    d.mutable_work_order()->set_id(kId);
    CHECK(projection::Project(Envelope(d)).empty());
    fev::WorkOrderCompleted e = Completed();
    e.mutable_work_order()->set_id("nope");
    auto env = Envelope(e);
    env.set_aggregate_id("nope");
    CHECK_THROWS_AS(projection::Project(env), projection::UninterpretableEvent);
}
