// The technician role through the gateway: a technician sees and changes only the jobs booked for them (the gateway
// lets the role call the job RPCs, the service narrows them to the caller's own technician record), may not dispatch
// or cancel, and reads only their own record and calendar.
#include <catch2/catch.hpp>

#include "../support/fieldservice_client.hpp"

using namespace crm::test;

namespace {}  // namespace

TEST_CASE("fieldservice: a technician cannot read or change another technician's jobs",
          "[integration][fieldservice][roles]") {
    const std::string tenant = UniqueTenant("fst");
    FieldServiceClient dispatcher(TokenFor(tenant, {"dispatcher"}));
    const auto ann = MustTechnician(dispatcher, {.user_id = "ann@example.com"});
    const auto bob = MustTechnician(dispatcher, {.user_id = "bob@example.com", .latitude = 52.53});
    const std::int64_t monday = UtcSeconds(2027, 3, 29);
    const auto window = Window(monday + 6 * 3600, monday + 15 * 3600);
    const auto anns_job = MustWorkOrder(dispatcher, {.windows = {window}});
    const auto bobs_job = MustWorkOrder(dispatcher, {.windows = {window}});
    const auto unbooked = MustWorkOrder(dispatcher, {.windows = {window}});
    for (const auto& [job, tech] : {std::make_pair(anns_job, ann), std::make_pair(bobs_job, bob)}) {
        fv1::DispatchWorkOrderRequest d;
        d.set_work_order_id(job.id());
        d.set_technician_id(tech.id());
        REQUIRE(dispatcher.DispatchWorkOrder(d).ok());
        fv1::ChangeWorkOrderStatusRequest c;
        c.set_id(job.id());
        c.set_status(fv1::WORK_ORDER_STATUS_DISPATCHED);
        REQUIRE(dispatcher.ChangeWorkOrderStatus(c).ok());
    }
    FieldServiceClient as_ann(TechnicianToken(tenant, "ann@example.com"));

    // Reads: her own job yes; Bob's and the unbooked one are NOT_FOUND, like ids that never existed.
    fv1::GetWorkOrderRequest g;
    g.set_id(anns_job.id());
    REQUIRE(as_ann.GetWorkOrder(g).ok());
    for (const auto& id : {bobs_job.id(), unbooked.id()}) {
        g.set_id(id);
        CHECK(as_ann.GetWorkOrder(g).status.error_code() == grpc::StatusCode::NOT_FOUND);
    }
    auto list = as_ann.ListWorkOrders({});
    REQUIRE(list.ok());
    REQUIRE(list.response.work_orders_size() == 1);
    CHECK(list.response.work_orders(0).id() == anns_job.id());
    fv1::ListWorkOrdersRequest theirs;
    theirs.set_technician_id(bob.id());
    CHECK(as_ann.ListWorkOrders(theirs).response.work_orders_size() == 0);

    // Changes: Bob's job is NOT_FOUND and unchanged; her own moves on.
    fv1::ChangeWorkOrderStatusRequest c;
    c.set_id(bobs_job.id());
    c.set_status(fv1::WORK_ORDER_STATUS_EN_ROUTE);
    CHECK(as_ann.ChangeWorkOrderStatus(c).status.error_code() == grpc::StatusCode::NOT_FOUND);
    fv1::CompleteWorkOrderRequest complete;
    complete.set_id(bobs_job.id());
    CHECK(as_ann.CompleteWorkOrder(complete).status.error_code() == grpc::StatusCode::NOT_FOUND);
    g.set_id(bobs_job.id());
    CHECK(dispatcher.GetWorkOrder(g).response.work_order().status() == fv1::WORK_ORDER_STATUS_DISPATCHED);
    c.set_id(anns_job.id());
    auto en_route = as_ann.ChangeWorkOrderStatus(c);
    REQUIRE(en_route.ok());
    CHECK(en_route.response.work_order().history().rbegin()->actor() == "ann@example.com");
    // She may not cancel (the service) nor dispatch or plan (the gateway).
    c.set_status(fv1::WORK_ORDER_STATUS_CANCELLED);
    c.set_reason("no time");
    auto cancel = as_ann.ChangeWorkOrderStatus(c);
    CHECK(cancel.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(cancel.status) == "TECHNICIAN_NOT_ALLOWED");
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(unbooked.id());
    d.set_technician_id(ann.id());
    CHECK(as_ann.DispatchWorkOrder(d).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    fv1::UpdateWorkOrderRequest u;
    u.mutable_work_order()->set_id(anns_job.id());
    u.mutable_work_order()->set_title("Mine now");
    CHECK(as_ann.UpdateWorkOrder(u).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // Her own record and calendar, not Bob's.
    fv1::GetTechnicianRequest gt;
    gt.set_id(ann.id());
    CHECK(as_ann.GetTechnician(gt).ok());
    gt.set_id(bob.id());
    CHECK(as_ann.GetTechnician(gt).status.error_code() == grpc::StatusCode::NOT_FOUND);
    fv1::ListAppointmentsRequest la;
    la.set_technician_id(bob.id());
    *la.mutable_window() = Window(monday, monday + 86400);
    CHECK(as_ann.ListAppointments(la).status.error_code() == grpc::StatusCode::NOT_FOUND);
    la.set_technician_id(ann.id());
    auto cal = as_ann.ListAppointments(la);
    REQUIRE(cal.ok());
    CHECK(cal.response.appointments_size() == 1);

    // A technician token whose user is no technician of the tenant sees nothing.
    FieldServiceClient stranger(TechnicianToken(tenant, "nobody@example.com"));
    CHECK(stranger.ListWorkOrders({}).response.work_orders_size() == 0);
    g.set_id(anns_job.id());
    CHECK(stranger.GetWorkOrder(g).status.error_code() == grpc::StatusCode::NOT_FOUND);
}
