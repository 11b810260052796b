// PlanDay through the gateway: a zig-zag booked day is straightened, every window and the working day are kept, ETAs
// add up (previous end + travel), and the plan reports its improvement over the booked order.
#include <catch2/catch.hpp>

#include "../support/fieldservice_client.hpp"

using namespace crm::test;

TEST_CASE("fieldservice: PlanDay keeps every window and beats a zig-zag booked order",
          "[integration][fieldservice][plan]") {
    const std::string tenant = UniqueTenant("fsq");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    const auto tech = MustTechnician(api, {.user_id = "planner"});
    const std::int64_t monday = UtcSeconds(2027, 3, 29);
    const fv1::TimeWindow day = Window(monday + 6 * 3600, monday + 15 * 3600);  // 08:00-17:00 CEST
    std::vector<fv1::WorkOrder> orders;
    for (int i = 0; i < 5; ++i) {
        orders.push_back(MustWorkOrder(
            api, {.latitude = 52.52, .longitude = 13.455 + 0.05 * i, .duration_minutes = 30, .windows = {day}}));
    }
    // Booked east, west, east, west: 4 0 3 1 2, one an hour from 09:00 local.
    const std::vector<int> zigzag = {4, 0, 3, 1, 2};
    for (std::size_t k = 0; k < zigzag.size(); ++k) {
        fv1::DispatchWorkOrderRequest d;
        d.set_work_order_id(orders[zigzag[k]].id());
        d.set_technician_id(tech.id());
        *d.mutable_start_time() = Ts(monday + (7 + static_cast<int>(k)) * 3600);
        auto r = api.DispatchWorkOrder(d);
        INFO(r.status.error_message());
        REQUIRE(r.ok());
    }
    fv1::PlanDayRequest req;
    req.set_technician_id(tech.id());
    req.set_date("2027-03-29");
    auto plan = api.PlanDay(req);
    REQUIRE(plan.ok());
    const auto& p = plan.response;
    CHECK(p.feasible());
    CHECK_FALSE(p.booked_order_kept());
    CHECK(p.planned_travel_minutes() < p.booked_travel_minutes());
    CHECK(p.improvement_minutes() == p.booked_travel_minutes() - p.planned_travel_minutes());
    REQUIRE(p.stops_size() == 5);
    std::int64_t previous_end = monday + 6 * 3600;  // the working day starts at 08:00 local at home
    for (int i = 0; i < 5; ++i) {
        const auto& s = p.stops(i);
        CHECK(s.work_order_id() == orders[i].id());  // west to east
        CHECK(s.arrival_time().seconds() == previous_end + s.travel_minutes() * 60);
        CHECK(s.start_time().seconds() >= s.arrival_time().seconds());
        CHECK(s.start_time().seconds() >= day.start_time().seconds());
        CHECK(s.end_time().seconds() == s.start_time().seconds() + 1800);
        CHECK(s.end_time().seconds() <= day.end_time().seconds());
        previous_end = s.end_time().seconds();
    }
    // An empty day, a bad date, another tenant's technician.
    req.set_date("2027-03-30");
    auto empty = api.PlanDay(req);
    REQUIRE(empty.ok());
    CHECK(empty.response.stops_size() == 0);
    req.set_date("2027-02-30");
    CHECK(HasViolation(api.PlanDay(req).status, "date"));
    FieldServiceClient other(TokenFor(UniqueTenant("fsq"), {"dispatcher"}));
    req.set_date("2027-03-29");
    CHECK(other.PlanDay(req).status.error_code() == grpc::StatusCode::NOT_FOUND);
}
