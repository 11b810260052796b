// Parts inventory through the gateway: stock never negative under concurrent reservations, the reorder-point event
// (once per crossing), transfers and adjustments that would go below what is reserved refused, cancellation releasing
// and completion consuming reservations, idempotent retries, bad input and another tenant's ids.
#include <catch2/catch.hpp>
#include <future>

#include "../support/events.hpp"
#include "../support/fieldservice_client.hpp"

using namespace crm::test;

namespace {

struct Stock {
    fv1::Part part;
    fv1::StockLocation warehouse;
    fv1::StockLocation van;
};

Stock MakeStock(FieldServiceClient& api, const std::string& sku, long long on_hand, long long reorder_point = 0) {
    Stock s;
    fv1::CreatePartRequest part;
    part.mutable_part()->set_sku(sku);
    part.mutable_part()->set_name("Filter " + sku);
    auto p = api.CreatePart(part);
    REQUIRE(p.ok());
    s.part = p.response.part();
    for (auto [name, kind, out] : {std::make_tuple("Main warehouse", fv1::LOCATION_KIND_WAREHOUSE, &s.warehouse),
                                   std::make_tuple("Van 1", fv1::LOCATION_KIND_VAN, &s.van)}) {
        fv1::CreateStockLocationRequest loc;
        loc.mutable_location()->set_name(name);
        loc.mutable_location()->set_kind(kind);
        auto l = api.CreateStockLocation(loc);
        REQUIRE(l.ok());
        *out = l.response.location();
    }
    fv1::AdjustStockRequest adjust;
    adjust.set_location_id(s.warehouse.id());
    adjust.set_part_id(s.part.id());
    adjust.set_quantity_delta(on_hand);
    adjust.set_has_reorder_point(reorder_point > 0);
    adjust.set_reorder_point(reorder_point);
    adjust.set_reason("goods received");
    auto a = api.AdjustStock(adjust);
    REQUIRE(a.ok());
    CHECK(a.response.level().on_hand() == on_hand);
    return s;
}

fv1::ReservePartRequest Reservation(const std::string& wo, const Stock& s, long long quantity) {
    fv1::ReservePartRequest r;
    r.set_work_order_id(wo);
    r.set_part_id(s.part.id());
    r.set_location_id(s.warehouse.id());
    r.set_quantity(quantity);
    return r;
}

fv1::StockLevel LevelOf(FieldServiceClient& api, const std::string& location, const std::string& part) {
    fv1::ListStockLevelsRequest req;
    req.set_location_id(location);
    req.set_part_id(part);
    auto r = api.ListStockLevels(req);
    REQUIRE(r.ok());
    REQUIRE(r.response.levels_size() == 1);
    return r.response.levels(0);
}

}  // namespace

TEST_CASE("fieldservice: stock never goes negative under concurrent reservations",
          "[integration][fieldservice][parts]") {
    const std::string tenant = UniqueTenant("fsp");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    const Stock s = MakeStock(api, "F-1", 10);
    std::vector<std::string> orders;
    for (int i = 0; i < 40; ++i) orders.push_back(MustWorkOrder(api, {}).id());
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    std::vector<std::future<grpc::Status>> results;
    for (const auto& wo : orders) {
        results.push_back(std::async(std::launch::async, [&, wo] {
            start.wait();
            return api.ReservePart(Reservation(wo, s, 1)).status;
        }));
    }
    go.set_value();
    int ok = 0, insufficient = 0;
    for (auto& f : results) {
        const grpc::Status st = f.get();
        if (st.ok()) {
            ++ok;
        } else {
            CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
            CHECK(ErrorReason(st) == "INSUFFICIENT_STOCK");
            ++insufficient;
        }
    }
    CHECK(ok == 10);
    CHECK(insufficient == 30);
    const fv1::StockLevel level = LevelOf(api, s.warehouse.id(), s.part.id());
    CHECK(level.on_hand() == 10);
    CHECK(level.reserved() == 10);
    CHECK(level.available() == 0);
    CHECK(FsRows("reservations", tenant) == 10);
    // Nothing can take the reserved stock away: neither an adjustment nor a transfer.
    fv1::AdjustStockRequest down;
    down.set_location_id(s.warehouse.id());
    down.set_part_id(s.part.id());
    down.set_quantity_delta(-1);
    CHECK(ErrorReason(api.AdjustStock(down).status) == "INSUFFICIENT_STOCK");
    fv1::TransferStockRequest move;
    move.set_from_location_id(s.warehouse.id());
    move.set_to_location_id(s.van.id());
    move.set_part_id(s.part.id());
    move.set_quantity(1);
    CHECK(ErrorReason(api.TransferStock(move).status) == "INSUFFICIENT_STOCK");
}

TEST_CASE("fieldservice: reorder point, transfers, cancellation releases and completion consumes",
          "[integration][fieldservice][parts]") {
    const std::string tenant = UniqueTenant("fsp");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    EventTap tap("crm.fieldservice.v1");
    tap.Ignore("crm.fieldservice.events.v1.WorkOrderCreated");
    tap.Ignore("crm.fieldservice.events.v1.PartCreated");
    const Stock s = MakeStock(api, "F-2", 10, 5);
    const auto cancelled = MustWorkOrder(api, {});
    // 10 available, reorder point 5: reserving 6 crosses it (one event), reserving 1 more does not again.
    auto r1 = api.ReservePart(Reservation(cancelled.id(), s, 6));
    REQUIRE(r1.ok());
    CHECK(r1.response.level().available() == 4);
    fv1::ReservePartRequest retried = Reservation(cancelled.id(), s, 1);
    retried.set_request_id("reserve-once");
    REQUIRE(api.ReservePart(retried).ok());
    auto again = api.ReservePart(retried);  // a retry: the same reservation, nothing reserved twice
    REQUIRE(again.ok());
    CHECK(again.response.level().reserved() == 7);
    auto events = tap.WaitFor(tenant, 1, std::chrono::seconds(30), std::chrono::seconds(3));
    REQUIRE(events.size() == 1);
    CHECK(events[0].envelope.event_type() == "crm.fieldservice.events.v1.StockBelowReorderPoint");
    CHECK(events[0].envelope.aggregate_id() == s.part.id());

    // Transfer 2 of the 3 available to the van; 2 more is refused.
    fv1::TransferStockRequest move;
    move.set_from_location_id(s.warehouse.id());
    move.set_to_location_id(s.van.id());
    move.set_part_id(s.part.id());
    move.set_quantity(2);
    move.set_request_id("move-once");
    auto moved = api.TransferStock(move);
    REQUIRE(moved.ok());
    CHECK(moved.response.from_level().available() == 1);
    CHECK(moved.response.to_level().on_hand() == 2);
    REQUIRE(api.TransferStock(move).ok());  // the retry moves nothing more
    CHECK(LevelOf(api, s.van.id(), s.part.id()).on_hand() == 2);
    move.clear_request_id();
    CHECK(ErrorReason(api.TransferStock(move).status) == "INSUFFICIENT_STOCK");

    // Cancelling the work order gives its 7 back.
    fv1::ChangeWorkOrderStatusRequest cancel;
    cancel.set_id(cancelled.id());
    cancel.set_status(fv1::WORK_ORDER_STATUS_CANCELLED);
    cancel.set_reason("duplicate");
    REQUIRE(api.ChangeWorkOrderStatus(cancel).ok());
    fv1::StockLevel level = LevelOf(api, s.warehouse.id(), s.part.id());
    CHECK(level.on_hand() == 8);
    CHECK(level.reserved() == 0);
    CHECK(QueryScalar("fieldservice", "SELECT count(*) FROM reservations WHERE tenant_id = '" + tenant +
                                          "' AND status = 'RELEASED'") == "2");

    // A completed job consumes its reservation (3 reserved, 2 used from it, 1 back) and parts from the van.
    auto tech = MustTechnician(api, {.user_id = "parts-tech"});
    const std::int64_t monday = UtcSeconds(2027, 3, 29);
    const auto job = MustWorkOrder(api, {.windows = {Window(monday + 6 * 3600, monday + 15 * 3600)}});
    REQUIRE(api.ReservePart(Reservation(job.id(), s, 3)).ok());
    fv1::DispatchWorkOrderRequest d;
    d.set_work_order_id(job.id());
    d.set_technician_id(tech.id());
    REQUIRE(api.DispatchWorkOrder(d).ok());
    for (auto st :
         {fv1::WORK_ORDER_STATUS_DISPATCHED, fv1::WORK_ORDER_STATUS_EN_ROUTE, fv1::WORK_ORDER_STATUS_ON_SITE}) {
        fv1::ChangeWorkOrderStatusRequest c;
        c.set_id(job.id());
        c.set_status(st);
        REQUIRE(api.ChangeWorkOrderStatus(c).ok());
    }
    fv1::CompleteWorkOrderRequest done;
    done.set_id(job.id());
    auto* used = done.mutable_completion()->add_parts_used();
    used->set_part_id(s.part.id());
    used->set_location_id(s.warehouse.id());
    used->set_quantity(2);
    used = done.mutable_completion()->add_parts_used();
    used->set_part_id(s.part.id());
    used->set_location_id(s.van.id());
    used->set_quantity(1);
    REQUIRE(api.CompleteWorkOrder(done).ok());
    level = LevelOf(api, s.warehouse.id(), s.part.id());
    CHECK(level.on_hand() == 6);
    CHECK(level.reserved() == 0);
    CHECK(LevelOf(api, s.van.id(), s.part.id()).on_hand() == 1);
}

TEST_CASE("fieldservice: parts bad input, duplicates and another tenant's ids", "[integration][fieldservice][parts]") {
    const std::string tenant = UniqueTenant("fsp");
    FieldServiceClient api(TokenFor(tenant, {"dispatcher"}));
    const Stock s = MakeStock(api, "F-3", 5);
    fv1::CreatePartRequest dup;
    dup.mutable_part()->set_sku("F-3");
    dup.mutable_part()->set_name("Again");
    CHECK(api.CreatePart(dup).status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    fv1::CreatePartRequest bad;
    bad.mutable_part()->set_sku(" padded ");
    bad.mutable_part()->set_product_id("nope");
    auto b = api.CreatePart(bad);
    CHECK(b.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(b.status, "part.sku"));
    CHECK(HasViolation(b.status, "part.name"));
    CHECK(HasViolation(b.status, "part.product_id"));
    fv1::AdjustStockRequest adjust;
    adjust.set_location_id("x");
    adjust.set_part_id(s.part.id());
    adjust.set_quantity_delta(2000000);
    adjust.set_has_reorder_point(true);
    adjust.set_reorder_point(-1);
    auto a = api.AdjustStock(adjust);
    CHECK(HasViolation(a.status, "location_id"));
    CHECK(HasViolation(a.status, "quantity_delta"));
    CHECK(HasViolation(a.status, "reorder_point"));
    fv1::TransferStockRequest same;
    same.set_from_location_id(s.warehouse.id());
    same.set_to_location_id(s.warehouse.id());
    same.set_part_id(s.part.id());
    same.set_quantity(0);
    auto t = api.TransferStock(same);
    CHECK(HasViolation(t.status, "to_location_id"));
    CHECK(HasViolation(t.status, "quantity"));
    CHECK(FsRows("stock_levels", tenant) == 1);

    FieldServiceClient other(TokenFor(UniqueTenant("fsp"), {"dispatcher"}));
    fv1::GetPartRequest g;
    g.set_id(s.part.id());
    CHECK(other.GetPart(g).status.error_code() == grpc::StatusCode::NOT_FOUND);
    fv1::AdjustStockRequest theirs;
    theirs.set_location_id(s.warehouse.id());
    theirs.set_part_id(s.part.id());
    theirs.set_quantity_delta(1);
    CHECK(other.AdjustStock(theirs).status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(other.ListParts({}).response.parts_size() == 0);
    CHECK(other.ListStockLevels({}).response.levels_size() == 0);
    CHECK(LevelOf(api, s.warehouse.id(), s.part.id()).on_hand() == 5);
}
