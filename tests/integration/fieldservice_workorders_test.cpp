// Work orders and technicians through the gateway: create, read, list, update (every RPC's happy path), a retried
// create, one event per change with a correct envelope, bad input naming every field and writing nothing (coordinates
// out of range, windows ending before they start, ...), another tenant's ids NOT_FOUND on every RPC, and the
// lifecycle to completion with offline change times.
#include <crm/fieldservice/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <map>

#include "../support/events.hpp"
#include "../support/fieldservice_client.hpp"

using namespace crm::test;

namespace {

const std::int64_t kMonday = UtcSeconds(2027, 3, 29);
constexpr auto kNotFound = grpc::StatusCode::NOT_FOUND;
constexpr auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;

fv1::ChangeWorkOrderStatusRequest Change(const std::string& id, fv1::WorkOrderStatus to) {
    fv1::ChangeWorkOrderStatusRequest c;
    c.set_id(id);
    c.set_status(to);
    return c;
}

}  // namespace

TEST_CASE("fieldservice: work orders and technicians, create, read, list, update, retried creates, events",
          "[integration][fieldservice][workorders]") {
    const std::string tenant = UniqueTenant("fsw");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    EventTap tap("crm.fieldservice.v1");

    fv1::CreateTechnicianRequest ct;
    ct.set_request_id("tech-1");
    ct.mutable_technician()->set_user_id("carla");
    ct.mutable_technician()->set_display_name("Carla");
    ct.mutable_technician()->mutable_home_base()->set_latitude(48.1374);
    ct.mutable_technician()->mutable_home_base()->set_longitude(11.5755);
    ct.mutable_technician()->set_time_zone("Europe/Berlin");
    ct.mutable_technician()->set_territory("south");
    auto* skill = ct.mutable_technician()->add_skills();
    skill->set_skill("electric");
    skill->set_level(4);
    *skill->mutable_expire_time() = Ts(kMonday + 365 * 86400);
    auto t1 = api.CreateTechnician(ct);
    REQUIRE(t1.ok());
    auto t2 = api.CreateTechnician(ct);  // retried: the same technician
    REQUIRE(t2.ok());
    CHECK(t2.response.technician().id() == t1.response.technician().id());
    ct.clear_request_id();
    CHECK(api.CreateTechnician(ct).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);  // user_id taken
    const fv1::Technician tech = t1.response.technician();
    CHECK(tech.skills(0).expire_time().seconds() == kMonday + 365 * 86400);

    fv1::UpdateTechnicianRequest ut;
    ut.mutable_technician()->set_id(tech.id());
    auto* hours = ut.mutable_technician()->add_working_hours();
    hours->set_weekday(1);
    hours->set_start_minute(7 * 60);
    hours->set_end_minute(15 * 60);
    ut.mutable_update_mask()->add_paths("working_hours");
    ut.set_etag(tech.etag());
    auto updated_tech = api.UpdateTechnician(ut);
    REQUIRE(updated_tech.ok());
    CHECK(updated_tech.response.technician().working_hours_size() == 1);
    CHECK(updated_tech.response.technician().version() == 2);
    CHECK(api.UpdateTechnician(ut).status.error_code() == grpc::StatusCode::ABORTED);  // stale etag
    fv1::GetTechnicianRequest gt;
    gt.set_id(tech.id());
    CHECK(api.GetTechnician(gt).response.technician().display_name() == "Carla");
    fv1::ListTechniciansRequest lt;
    lt.set_territory("south");
    CHECK(api.ListTechnicians(lt).response.technicians_size() == 1);
    lt.set_territory("north");
    CHECK(api.ListTechnicians(lt).response.technicians_size() == 0);

    fv1::CreateWorkOrderRequest cw;
    cw.set_request_id("wo-1");
    auto* w = cw.mutable_work_order();
    w->set_title("Replace fuse box");
    w->set_case_id("4b0f6f8e-51b4-4f55-9d8e-0f0b4c6f1a22");
    w->mutable_site()->set_address("Marienplatz 1, München");
    w->mutable_site()->mutable_location()->set_latitude(48.1372);
    w->mutable_site()->mutable_location()->set_longitude(11.5756);
    w->set_work_type("install");
    w->set_duration_minutes(90);
    w->set_priority(fv1::PRIORITY_HIGH);
    w->add_checklist("isolate power");
    *w->add_time_windows() = Window(kMonday + 7 * 3600, kMonday + 11 * 3600);
    auto c1 = api.CreateWorkOrder(cw);
    REQUIRE(c1.ok());
    auto c2 = api.CreateWorkOrder(cw);
    REQUIRE(c2.ok());
    CHECK(c2.response.work_order().id() == c1.response.work_order().id());
    const fv1::WorkOrder wo = c1.response.work_order();
    CHECK(wo.status() == fv1::WORK_ORDER_STATUS_NEW);
    CHECK(wo.priority() == fv1::PRIORITY_HIGH);
    CHECK(FsRows("work_orders", tenant) == 1);

    fv1::UpdateWorkOrderRequest uw;
    uw.mutable_work_order()->set_id(wo.id());
    uw.mutable_work_order()->set_title("Replace the fuse box");
    uw.mutable_work_order()->set_duration_minutes(120);
    uw.mutable_update_mask()->add_paths("title");
    uw.mutable_update_mask()->add_paths("duration_minutes");
    auto uwr = api.UpdateWorkOrder(uw);
    REQUIRE(uwr.ok());
    CHECK(uwr.response.work_order().duration_minutes() == 120);
    fv1::GetWorkOrderRequest gw;
    gw.set_id(wo.id());
    CHECK(api.GetWorkOrder(gw).response.work_order().title() == "Replace the fuse box");
    fv1::ListWorkOrdersRequest lw;
    lw.set_status(fv1::WORK_ORDER_STATUS_NEW);
    CHECK(api.ListWorkOrders(lw).response.work_orders_size() == 1);
    lw.set_status(fv1::WORK_ORDER_STATUS_COMPLETED);
    CHECK(api.ListWorkOrders(lw).response.work_orders_size() == 0);
    // Paging: three more, two per page.
    for (int i = 0; i < 3; ++i) MustWorkOrder(api, {});
    fv1::ListWorkOrdersRequest page;
    page.set_page_size(2);
    auto p1 = api.ListWorkOrders(page);
    REQUIRE(p1.response.work_orders_size() == 2);
    page.set_page_token(p1.response.next_page_token());
    auto p2 = api.ListWorkOrders(page);
    REQUIRE(p2.response.work_orders_size() == 2);
    CHECK(p2.response.next_page_token().empty());
    page.set_status(fv1::WORK_ORDER_STATUS_NEW);  // a token of another query
    CHECK(api.ListWorkOrders(page).status.error_code() == kInvalid);

    const auto events = tap.WaitFor(tenant, 7, std::chrono::seconds(30), std::chrono::seconds(3));
    std::map<std::string, int> counts;
    for (const auto& e : events) {
        ++counts[e.envelope.event_type()];
        CHECK(e.envelope.source() == "fieldservice");
        CHECK(e.envelope.tenant_id() == tenant);
        CHECK(e.key == e.envelope.aggregate_id());
    }
    CHECK(counts["crm.fieldservice.events.v1.TechnicianCreated"] == 1);  // once, despite the retry
    CHECK(counts["crm.fieldservice.events.v1.TechnicianUpdated"] == 1);
    CHECK(counts["crm.fieldservice.events.v1.WorkOrderCreated"] == 4);
    CHECK(counts["crm.fieldservice.events.v1.WorkOrderUpdated"] == 1);
    CHECK(events.size() == 7);
}

TEST_CASE("fieldservice: bad input names every field and writes nothing", "[integration][fieldservice][workorders]") {
    const std::string tenant = UniqueTenant("fsb");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    fv1::CreateWorkOrderRequest cw;
    auto* w = cw.mutable_work_order();
    w->mutable_site()->mutable_location()->set_latitude(91);
    w->mutable_site()->mutable_location()->set_longitude(-180.5);
    w->set_duration_minutes(0);
    w->set_case_id("case-7");
    *w->add_time_windows() = Window(kMonday + 3600, kMonday);  // ends before it starts
    *w->add_time_windows() = Window(kMonday, kMonday + 70 * 86400);
    auto* s = w->add_required_skills();
    s->set_skill("hvac");
    s->set_min_level(7);
    w->add_required_skills()->set_skill("hvac");
    w->add_parts_needed()->set_part_id("p");
    w->set_priority(static_cast<fv1::Priority>(42));
    auto r = api.CreateWorkOrder(cw);
    REQUIRE(r.status.error_code() == kInvalid);
    for (const char* field :
         {"work_order.title", "work_order.site.address", "work_order.site.location.latitude",
          "work_order.site.location.longitude", "work_order.work_type", "work_order.duration_minutes",
          "work_order.case_id", "work_order.time_windows[0].end_time", "work_order.time_windows[1].end_time",
          "work_order.required_skills[0].min_level", "work_order.required_skills[1].min_level",
          "work_order.required_skills[1].skill", "work_order.parts_needed[0].part_id",
          "work_order.parts_needed[0].quantity", "work_order.priority"}) {
        INFO(field);
        CHECK(HasViolation(r.status, field));
    }
    fv1::CreateTechnicianRequest ct;
    ct.mutable_technician()->mutable_home_base()->set_latitude(-90.1);
    ct.mutable_technician()->set_time_zone("Mars/Olympus");
    auto* h = ct.mutable_technician()->add_working_hours();
    h->set_weekday(7);
    h->set_start_minute(600);
    h->set_end_minute(500);
    auto* off = ct.mutable_technician()->add_time_off();
    *off->mutable_window() = Window(kMonday + 10, kMonday);
    auto t = api.CreateTechnician(ct);
    REQUIRE(t.status.error_code() == kInvalid);
    for (const char* field : {"technician.user_id", "technician.display_name", "technician.home_base.latitude",
                              "technician.time_zone", "technician.working_hours[0].weekday",
                              "technician.working_hours[0].end_minute", "technician.time_off[0].window.end_time"}) {
        INFO(field);
        CHECK(HasViolation(t.status, field));
    }
    // Oversized lists are refused before anything is looked at.
    fv1::CreateWorkOrderRequest big;
    for (int i = 0; i < 51; ++i) big.mutable_work_order()->add_checklist("item");
    CHECK(HasViolation(api.CreateWorkOrder(big).status, "work_order.checklist"));
    fv1::FindCandidatesRequest fc;
    fc.set_work_order_id("nope");
    fc.set_max_candidates(51);
    auto f = api.FindCandidates(fc);
    CHECK(HasViolation(f.status, "work_order_id"));
    CHECK(HasViolation(f.status, "max_candidates"));
    fv1::ListAppointmentsRequest la;
    la.set_technician_id("4b0f6f8e-51b4-4f55-9d8e-0f0b4c6f1a22");
    *la.mutable_window() = Window(kMonday, kMonday - 1);
    CHECK(HasViolation(api.ListAppointments(la).status, "window.end_time"));
    fv1::ListWorkOrdersRequest lw;
    lw.set_page_size(-1);
    CHECK(api.ListWorkOrders(lw).status.error_code() == kInvalid);
    CHECK(FsRows("work_orders", tenant) == 0);
    CHECK(FsRows("technicians", tenant) == 0);
    CHECK(QueryScalar("fieldservice", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'") == "0");
}

TEST_CASE("fieldservice: another tenant's ids are NOT_FOUND on every RPC and change nothing",
          "[integration][fieldservice][tenancy]") {
    const std::string tenant = UniqueTenant("fsn");
    FieldServiceClient owner(TokenFor(tenant, {"dispatcher"}));
    const auto tech = MustTechnician(owner, {.user_id = "own"});
    const auto wo = MustWorkOrder(owner, {.windows = {Window(kMonday + 6 * 3600, kMonday + 15 * 3600)}});
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(wo.id());
    d.set_technician_id(tech.id());
    REQUIRE(owner.DispatchWorkOrder(d).ok());
    const auto free_wo = MustWorkOrder(owner, {});
    const std::string outbox_before =
        QueryScalar("fieldservice", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'");

    FieldServiceClient other(TokenFor(UniqueTenant("fsn"), {"admin"}));
    const auto other_tech = MustTechnician(other, {.user_id = "theirs"});
    fv1::GetWorkOrderRequest g;
    g.set_id(wo.id());
    CHECK(other.GetWorkOrder(g).status.error_code() == kNotFound);
    fv1::UpdateWorkOrderRequest u;
    u.mutable_work_order()->set_id(wo.id());
    u.mutable_work_order()->set_title("Hijacked");
    u.mutable_update_mask()->add_paths("title");
    CHECK(other.UpdateWorkOrder(u).status.error_code() == kNotFound);
    CHECK(other.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_DISPATCHED)).status.error_code() ==
          kNotFound);
    fv1::CompleteWorkOrderRequest c;
    c.set_id(wo.id());
    CHECK(other.CompleteWorkOrder(c).status.error_code() == kNotFound);
    fv1::FindCandidatesRequest f;
    f.set_work_order_id(free_wo.id());
    CHECK(other.FindCandidates(f).status.error_code() == kNotFound);
    fv1::DispatchWorkOrderRequest od;
    od.set_work_order_id(free_wo.id());
    CHECK(other.DispatchWorkOrder(od).status.error_code() == kNotFound);
    od.set_work_order_id(MustWorkOrder(other, {}).id());
    od.set_technician_id(tech.id());  // their order, our technician
    CHECK(other.DispatchWorkOrder(od).status.error_code() == kNotFound);
    fv1::RescheduleWorkOrderRequest rs;
    rs.set_work_order_id(wo.id());
    CHECK(other.RescheduleWorkOrder(rs).status.error_code() == kNotFound);
    fv1::UnassignWorkOrderRequest un;
    un.set_work_order_id(wo.id());
    CHECK(other.UnassignWorkOrder(un).status.error_code() == kNotFound);
    fv1::GetTechnicianRequest gt;
    gt.set_id(tech.id());
    CHECK(other.GetTechnician(gt).status.error_code() == kNotFound);
    fv1::UpdateTechnicianRequest ut;
    ut.mutable_technician()->set_id(tech.id());
    ut.mutable_technician()->set_display_name("Hijacked");
    CHECK(other.UpdateTechnician(ut).status.error_code() == kNotFound);
    fv1::ListAppointmentsRequest la;
    la.set_technician_id(tech.id());
    *la.mutable_window() = Window(kMonday, kMonday + 86400);
    CHECK(other.ListAppointments(la).status.error_code() == kNotFound);
    fv1::ReservePartRequest rp;
    rp.set_work_order_id(wo.id());
    rp.set_part_id(other_tech.id());
    rp.set_location_id(other_tech.id());
    rp.set_quantity(1);
    CHECK(other.ReservePart(rp).status.error_code() == kNotFound);
    auto list = other.ListWorkOrders({});
    REQUIRE(list.ok());
    CHECK(list.response.work_orders_size() == 1);  // only their own
    CHECK(other.ListTechnicians({}).response.technicians_size() == 1);
    CHECK(QueryScalar("fieldservice", "SELECT count(*) FROM crm_outbox WHERE tenant_id = '" + tenant + "'") ==
          outbox_before);
    CHECK(owner.GetWorkOrder(g).response.work_order().title() == "Repair");
}

TEST_CASE("fieldservice: the lifecycle to completion, offline change times, refused transitions",
          "[integration][fieldservice][workorders]") {
    const std::string tenant = UniqueTenant("fsl");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    const auto tech = MustTechnician(api, {.user_id = "life", .latitude = 52.53});
    const auto wo = MustWorkOrder(api, {.windows = {Window(kMonday + 6 * 3600, kMonday + 15 * 3600)},
                                        .checklist = {"filter", "pressure"},
                                        .case_id = "6a1f0c3e-8d7b-4c55-a1f2-9e3b7c2d1f00"});
    // Not booked: no status change but cancel.
    CHECK(ErrorReason(api.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_EN_ROUTE)).status) ==
          "INVALID_TRANSITION");
    auto bad = api.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_COMPLETED));
    CHECK(HasViolation(bad.status, "status"));
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(wo.id());
    d.set_technician_id(tech.id());
    REQUIRE(api.DispatchWorkOrder(d).ok());
    EventTap tap("crm.fieldservice.v1");
    REQUIRE(api.ChangeWorkOrderStatus(Change(wo.id(), fv1::WORK_ORDER_STATUS_DISPATCHED)).ok());
    // Offline: en route at now - 2h, on site at now - 1h40, completed at now - 1h (synced now).
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto en_route = Change(wo.id(), fv1::WORK_ORDER_STATUS_EN_ROUTE);
    *en_route.mutable_change_time() = Ts(now - 7200);
    // Dated before the last change (dispatched just now): refused, it would rewrite history.
    CHECK(ErrorReason(api.ChangeWorkOrderStatus(en_route).status) == "OUT_OF_ORDER");
    en_route.clear_change_time();
    REQUIRE(api.ChangeWorkOrderStatus(en_route).ok());
    auto future = Change(wo.id(), fv1::WORK_ORDER_STATUS_ON_SITE);
    *future.mutable_change_time() = Ts(now + 3600);
    CHECK(HasViolation(api.ChangeWorkOrderStatus(future).status, "change_time"));
    auto on_site = Change(wo.id(), fv1::WORK_ORDER_STATUS_ON_SITE);
    *on_site.mutable_change_time() = Ts(now + 30);
    auto os = api.ChangeWorkOrderStatus(on_site);
    REQUIRE(os.ok());
    CHECK(os.response.work_order().history().rbegin()->change_time().seconds() == now + 30);

    fv1::CompleteWorkOrderRequest done;
    done.set_id(wo.id());
    auto* answer = done.mutable_completion()->add_checklist_answers();
    answer->set_item("filter");
    answer->set_answer("replaced");
    done.mutable_completion()->set_notes("All good.\nCustomer happy.");
    *done.mutable_complete_time() = Ts(now + 45);
    done.mutable_completion()->set_signature(std::string(300 * 1024, 'x'));
    CHECK(HasViolation(api.CompleteWorkOrder(done).status, "completion.signature"));
    done.mutable_completion()->set_signature(std::string("\x89PNG\r\n\x1a\n\0sig", 12));
    answer->set_item("not on the list");
    CHECK(HasViolation(api.CompleteWorkOrder(done).status, "completion.checklist_answers[0].item"));
    answer->set_item("filter");
    auto completed = api.CompleteWorkOrder(done);
    REQUIRE(completed.ok());
    const auto& c = completed.response.work_order();
    CHECK(c.status() == fv1::WORK_ORDER_STATUS_COMPLETED);
    CHECK(c.completion().signature() == std::string("\x89PNG\r\n\x1a\n\0sig", 12));
    CHECK(c.completion().first_time_fix());
    CHECK(c.completion().complete_time().seconds() == now + 45);
    CHECK(c.history_size() == 5);
    CHECK(ErrorReason(api.CompleteWorkOrder(done).status) == "INVALID_TRANSITION");
    auto cancel_done = Change(wo.id(), fv1::WORK_ORDER_STATUS_CANCELLED);
    cancel_done.set_reason("too late");
    CHECK(ErrorReason(api.ChangeWorkOrderStatus(cancel_done).status) == "INVALID_TRANSITION");

    tap.Ignore("crm.fieldservice.events.v1.WorkOrderCreated");
    tap.Ignore("crm.fieldservice.events.v1.WorkOrderScheduled");  // the booking, possibly relayed after the tap began
    const auto events = tap.WaitFor(tenant, 4, std::chrono::seconds(30), std::chrono::seconds(3));
    REQUIRE(events.size() == 4);
    CHECK(events[0].envelope.event_type() == "crm.fieldservice.events.v1.WorkOrderDispatched");
    CHECK(events[1].envelope.event_type() == "crm.fieldservice.events.v1.TechnicianEnRoute");
    CHECK(events[2].envelope.event_type() == "crm.fieldservice.events.v1.WorkOrderStatusChanged");
    CHECK(events[3].envelope.event_type() == "crm.fieldservice.events.v1.WorkOrderCompleted");
    crm::fieldservice::events::v1::WorkOrderCompleted payload;
    REQUIRE(events[3].envelope.payload().UnpackTo(&payload));
    CHECK(payload.duration_seconds() == 15);
    CHECK(payload.first_time_fix());
    CHECK(payload.case_id() == wo.case_id());
    CHECK(events[3].envelope.aggregate_version() == c.version());
    crm::fieldservice::events::v1::TechnicianEnRoute eta;
    REQUIRE(events[1].envelope.payload().UnpackTo(&eta));
    // Travel from home (0.01 degrees north, 1.1 km at 50 km/h) is 2 minutes.
    CHECK(eta.eta().seconds() - eta.occurred_at().seconds() == 120);
}
