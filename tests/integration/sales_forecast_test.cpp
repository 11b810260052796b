// The forecast against hand-computed values: weighted and by category, per owner, per month and quarter; snapshots
// (manual, idempotent, scheduled) and the accuracy of a snapshot once deals are won.
#include <crm/sales/events/v1/events.pb.h>

#include <catch2/catch.hpp>
#include <thread>

#include "../support/events.hpp"
#include "../support/sales_client.hpp"

using namespace crm::test;
namespace sev = crm::sales::events::v1;

namespace {

sv1::Period Month(const std::string& day) {
    sv1::Period p;
    p.set_type(sv1::PERIOD_TYPE_MONTH);
    p.set_start_date(day);
    return p;
}

const sv1::ForecastLine* LineOf(const google::protobuf::RepeatedPtrField<sv1::ForecastLine>& lines,
                                const std::string& owner) {
    for (const auto& l : lines) {
        if (l.owner_id() == owner) return &l;
    }
    return nullptr;
}

struct Book {
    sv1::Pipeline pipeline;
    sv1::Opportunity a, b, c, d, e;
};

// In the current month (UTC): A 1,000.00 ann Qualification 10%; B 500.00 bob Proposal 50% (best case);
// C 300.01 bob Negotiation 80% (commit); D 200.00 ann won; E 99.99 bob lost; plus deals that must not count: one in
// USD, one closing next year, one deleted.
Book MakeBook(SalesClient& api) {
    Book book;
    const std::string today = TodayUtc();
    book.pipeline = api.MustDefaultPipeline();
    book.a = api.MustCreateOpportunity("A", 100000, "EUR", today, "ann");
    book.b = api.MustMove(api.MustCreateOpportunity("B", 50000, "EUR", today, "bob"), book.pipeline.stages(2).id());
    book.c = api.MustMove(api.MustCreateOpportunity("C", 30001, "EUR", today, "bob"), book.pipeline.stages(3).id());
    book.d = api.MustCreateOpportunity("D", 20000, "EUR", today, "ann");
    sv1::WinOpportunityRequest win;
    win.set_id(book.d.id());
    REQUIRE(api.WinOpportunity(win).ok());
    book.e = api.MustCreateOpportunity("E", 9999, "EUR", today, "bob");
    sv1::LoseOpportunityRequest lose;
    lose.set_id(book.e.id());
    lose.set_reason("no budget");
    REQUIRE(api.LoseOpportunity(lose).ok());
    api.MustCreateOpportunity("in dollars", 777700, "USD", today, "ann");
    api.MustCreateOpportunity("next year", 555500, "EUR", std::to_string(std::stoi(today.substr(0, 4)) + 1) + "-01-15",
                              "ann");
    sv1::DeleteOpportunityRequest del;
    del.set_id(api.MustCreateOpportunity("deleted", 444400, "EUR", today, "bob").id());
    REQUIRE(api.DeleteOpportunity(del).ok());
    return book;
}

}  // namespace

TEST_CASE("sales: forecast sums, snapshot and accuracy against hand-computed values", "[integration][sales]") {
    const std::string tenant = UniqueTenant("sf");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    const Book book = MakeBook(api);
    const std::string today = TodayUtc();

    sv1::GetForecastRequest req;
    *req.mutable_period() = Month(today);
    req.set_currency_code("EUR");
    auto f = api.GetForecast(req);
    INFO(f.status.error_message());
    REQUIRE(f.ok());
    CHECK(f.response.period().start_date() == today.substr(0, 8) + "01");
    const auto& t = f.response.totals();
    CHECK(t.pipeline_amount() == 100000);
    CHECK(t.best_case_amount() == 50000);
    CHECK(t.commit_amount() == 30001);
    CHECK(t.closed_won_amount() == 20000);
    CHECK(t.closed_lost_amount() == 9999);
    // 1000.00 x 10% + 500.00 x 50% + 300.01 x 80% = 100.00 + 250.00 + 240.008 = 590.008 -> 590.01
    CHECK(t.weighted_amount() == 59001);
    CHECK(t.open_count() == 3);
    CHECK(t.won_count() == 1);
    CHECK(t.lost_count() == 1);
    REQUIRE(f.response.by_owner_size() == 2);
    const auto* ann = LineOf(f.response.by_owner(), "ann");
    const auto* bob = LineOf(f.response.by_owner(), "bob");
    REQUIRE(ann);
    REQUIRE(bob);
    CHECK(ann->figures().weighted_amount() == 10000);
    CHECK(ann->figures().closed_won_amount() == 20000);
    CHECK(bob->figures().weighted_amount() == 49001);  // 250.00 + 240.008
    CHECK(bob->figures().commit_amount() == 30001);

    SECTION("the quarter holds the same deals; owner and pipeline filters narrow them") {
        sv1::GetForecastRequest quarter = req;
        quarter.mutable_period()->set_type(sv1::PERIOD_TYPE_QUARTER);
        auto q = api.GetForecast(quarter);
        REQUIRE(q.ok());
        CHECK(q.response.totals().weighted_amount() == 59001);
        sv1::GetForecastRequest by_owner = req;
        by_owner.set_owner_id("bob");
        auto b = api.GetForecast(by_owner);
        REQUIRE(b.ok());
        CHECK(b.response.totals().weighted_amount() == 49001);
        CHECK(b.response.totals().closed_won_amount() == 0);
        sv1::GetForecastRequest by_pipeline = req;
        by_pipeline.set_pipeline_id(book.pipeline.id());
        CHECK(api.GetForecast(by_pipeline).response.totals().weighted_amount() == 59001);
        sv1::GetForecastRequest usd = req;
        usd.set_currency_code("USD");
        CHECK(api.GetForecast(usd).response.totals().pipeline_amount() == 777700);
    }

    SECTION("a snapshot is judged against what was then won") {
        EventTap tap("crm.sales.v1");
        sv1::TakeForecastSnapshotRequest take;
        *take.mutable_period() = Month(today);
        take.set_currency_code("EUR");
        take.set_request_id("snap-1");
        auto snap = api.TakeForecastSnapshot(take);
        INFO(snap.status.error_message());
        REQUIRE(snap.ok());
        const sv1::ForecastSnapshot s = snap.response.snapshot();
        CHECK(s.trigger() == "manual");
        CHECK(s.totals().weighted_amount() == 59001);
        CHECK(api.TakeForecastSnapshot(take).response.snapshot().id() == s.id());  // retried: the same snapshot

        sv1::WinOpportunityRequest win;
        win.set_id(book.b.id());
        REQUIRE(api.WinOpportunity(win).ok());

        sv1::GetForecastAccuracyRequest acc;
        acc.set_snapshot_id(s.id());
        auto a = api.GetForecastAccuracy(acc);
        INFO(a.status.error_message());
        REQUIRE(a.ok());
        // forecast = 590.01 + 200.00 = 790.01; won = 200.00 + 500.00 = 700.00; error 90.01 = 12.859% -> 8714 bp.
        CHECK(a.response.total().forecast_amount() == 79001);
        CHECK(a.response.total().commit_amount() == 50001);
        CHECK(a.response.total().actual_won_amount() == 70000);
        CHECK(a.response.total().error_amount() == 9001);
        CHECK(a.response.total().accuracy_basis_points() == 8714);
        REQUIRE(a.response.by_owner_size() == 2);
        CHECK(a.response.by_owner(0).owner_id() == "ann");
        CHECK(a.response.by_owner(0).accuracy_basis_points() == 5000);  // 300.00 vs 200.00
        CHECK(a.response.by_owner(1).owner_id() == "bob");
        CHECK(a.response.by_owner(1).accuracy_basis_points() == 9800);  // 490.01 vs 500.00

        sv1::ListForecastSnapshotsRequest list;
        *list.mutable_period() = Month(today);
        list.set_currency_code("EUR");
        auto listed = api.ListForecastSnapshots(list);
        REQUIRE(listed.ok());
        bool found = false;
        for (const auto& x : listed.response.snapshots()) found = found || x.id() == s.id();
        CHECK(found);

        auto events = tap.WaitFor(tenant, 3, std::chrono::seconds(20));
        int taken = 0;
        for (const auto& e : events) {
            if (e.envelope.event_type() != "crm.sales.events.v1.ForecastSnapshotTaken") continue;
            sev::ForecastSnapshotTaken payload;
            REQUIRE(e.envelope.payload().UnpackTo(&payload));
            if (payload.snapshot().trigger() == "manual") {
                ++taken;
                CHECK(payload.snapshot().totals().weighted_amount() == 59001);
                CHECK(e.envelope.aggregate_id() == s.id());
            }
        }
        CHECK(taken == 1);

        SalesClient other(TokenFor(UniqueTenant("sf"), {"sales_manager"}));
        CHECK(other.GetForecastAccuracy(acc).status.error_code() == grpc::StatusCode::NOT_FOUND);
    }
}

TEST_CASE("sales: the scheduler takes a snapshot of the current month per currency", "[integration][sales]") {
    const std::string tenant = UniqueTenant("sf");
    SalesClient api(TokenFor(tenant, {"sales_manager"}));
    api.MustCreateOpportunity("scheduled", 12300, "EUR", TodayUtc(), "ann");
    sv1::ListForecastSnapshotsRequest list;
    *list.mutable_period() = Month(TodayUtc());
    list.set_currency_code("EUR");
    std::vector<sv1::ForecastSnapshot> scheduled;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (scheduled.empty() && std::chrono::steady_clock::now() < until) {
        auto r = api.ListForecastSnapshots(list);
        REQUIRE(r.ok());
        for (const auto& s : r.response.snapshots()) {
            if (s.trigger() == "scheduled") scheduled.push_back(s);
        }
        if (scheduled.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    REQUIRE(scheduled.size() == 1);
    CHECK(scheduled[0].totals().pipeline_amount() == 12300);
    CHECK(scheduled[0].totals().weighted_amount() == 1230);
}

TEST_CASE("sales: bad forecast input is INVALID_ARGUMENT", "[integration][sales]") {
    SalesClient api(TokenFor(UniqueTenant("sf"), {"analyst"}));
    sv1::GetForecastRequest req;
    req.mutable_period()->set_start_date("2026-13-01");
    req.set_currency_code("eur");
    req.set_pipeline_id("nope");
    auto r = api.GetForecast(req);
    CHECK(r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field : {"period.type", "period.start_date", "currency_code", "pipeline_id"}) {
        INFO(field);
        CHECK(HasViolation(r.status, field));
    }
    sv1::TakeForecastSnapshotRequest take;
    CHECK(api.TakeForecastSnapshot(take).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);  // analyst
    SalesClient manager(TokenFor(UniqueTenant("sf"), {"sales_manager"}));
    auto bad_take = manager.TakeForecastSnapshot(take);
    CHECK(bad_take.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(HasViolation(bad_take.status, "period.type"));
    sv1::GetForecastAccuracyRequest acc;
    acc.set_snapshot_id("1");
    CHECK(HasViolation(manager.GetForecastAccuracy(acc).status, "snapshot_id"));
}
