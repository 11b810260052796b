// Live locations through the gateway: ReportLocation keeps the last known position (a report dated before it goes
// into the history only), refuses a burst of reports, keeps a bounded history, lets a technician report only for
// themself; FindCandidates starts an en-route technician's travel from the live position, also for a technician
// whose home base is far outside the nearest-by-home scan; the live-position query is a KNN scan as the app role.
#include <catch2/catch.hpp>
#include <cmath>
#include <future>
#include <limits>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/fieldservice_client.hpp"
#include "technicians/sql.hpp"

using namespace crm::test;

namespace {

// A technician who works around the clock every day (UTC), so that the test does not depend on the hour it runs.
fv1::Technician AlwaysWorking(FieldServiceClient& api, const std::string& user, double lat, double lon) {
    fv1::CreateTechnicianRequest req;
    auto* t = req.mutable_technician();
    t->set_user_id(user);
    t->set_display_name("Tech " + user);
    t->mutable_home_base()->set_latitude(lat);
    t->mutable_home_base()->set_longitude(lon);
    t->set_time_zone("UTC");
    auto* s = t->add_skills();
    s->set_skill("hvac");
    s->set_level(3);
    for (int d = 0; d <= 6; ++d) {
        auto* h = t->add_working_hours();
        h->set_weekday(d);
        h->set_start_minute(0);
        h->set_end_minute(1440);
    }
    auto r = api.CreateTechnician(req);
    INFO(r.status.error_message());
    REQUIRE(r.ok());
    return r.response.technician();
}

fv1::ReportLocationRequest Report(const std::string& technician, double lat, double lon) {
    fv1::ReportLocationRequest r;
    r.set_technician_id(technician);
    r.mutable_location()->set_latitude(lat);
    r.mutable_location()->set_longitude(lon);
    return r;
}

// Lets the next report of the tenant's technicians through the rate limit (as if the interval had passed).
void AgeReports(const std::string& tenant) {
    QueryScalar("fieldservice",
                "UPDATE technician_locations SET receive_time = receive_time - interval '1 hour' "
                "WHERE tenant_id = '" +
                    tenant + "'");
}

}  // namespace

TEST_CASE("fieldservice: ReportLocation keeps the last position, refuses bursts, bounds the history, own only",
          "[integration][fieldservice][location]") {
    const std::string tenant = UniqueTenant("fsl");
    FieldServiceClient dispatcher(TokenFor(tenant, {"dispatcher"}));
    const auto ann = MustTechnician(dispatcher, {.user_id = "ann@example.com"});
    const auto bob = MustTechnician(dispatcher, {.user_id = "bob@example.com"});
    FieldServiceClient as_ann(TechnicianToken(tenant, "ann@example.com"));

    // Her own report: the last known position, visible on her record.
    auto first = as_ann.ReportLocation(Report(ann.id(), 52.5, 13.4));
    INFO(first.status.error_message());
    REQUIRE(first.ok());
    CHECK_FALSE(first.response.history_only());
    CHECK(first.response.last_location().location().latitude() == Approx(52.5));
    CHECK(first.response.last_location().location().longitude() == Approx(13.4));
    CHECK(std::llabs(first.response.last_location().location_time().seconds() - NowSeconds()) < 60);
    fv1::GetTechnicianRequest get;
    get.set_id(ann.id());
    const auto read = dispatcher.GetTechnician(get);
    REQUIRE(read.ok());
    CHECK(read.response.technician().last_location().location().longitude() == Approx(13.4));

    // A second report right away is refused (rate limit), and changes nothing.
    const auto burst = as_ann.ReportLocation(Report(ann.id(), 52.6, 13.5));
    CHECK(burst.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(ErrorReason(burst.status) == "LOCATION_RATE_LIMITED");
    CHECK(FsRows("technician_location_history", tenant) == 1);

    // Another technician's id is NOT_FOUND for her; the same id is NOT_FOUND for another tenant's dispatcher.
    CHECK(as_ann.ReportLocation(Report(bob.id(), 52.5, 13.4)).status.error_code() == grpc::StatusCode::NOT_FOUND);
    FieldServiceClient stranger(TokenFor(UniqueTenant("fsl"), {"dispatcher"}));
    CHECK(stranger.ReportLocation(Report(ann.id(), 52.5, 13.4)).status.error_code() == grpc::StatusCode::NOT_FOUND);
    get.set_id(bob.id());
    CHECK_FALSE(dispatcher.GetTechnician(get).response.technician().has_last_location());

    // Bad input names every bad field and writes nothing.
    AgeReports(tenant);
    auto bad = Report(ann.id(), 91, -181);
    bad.set_accuracy_meters(std::numeric_limits<double>::quiet_NaN());
    *bad.mutable_location_time() = Ts(NowSeconds() + 3600);
    const auto refused = as_ann.ReportLocation(bad);
    CHECK(refused.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* f : {"location.latitude", "location.longitude", "accuracy_meters", "location_time"}) {
        INFO(f);
        CHECK(HasViolation(refused.status, f));
    }
    auto old = Report(ann.id(), 52.5, 13.4);
    *old.mutable_location_time() = Ts(NowSeconds() - 2 * 86400);
    CHECK(HasViolation(as_ann.ReportLocation(old).status, "location_time"));
    fv1::ReportLocationRequest nowhere;
    nowhere.set_technician_id("not-a-uuid");
    const auto missing = as_ann.ReportLocation(nowhere);
    CHECK(HasViolation(missing.status, "technician_id"));
    CHECK(HasViolation(missing.status, "location"));
    CHECK(FsRows("technician_location_history", tenant) == 1);

    // A report sent late (dated before the last known position) goes into the history only.
    auto late = Report(ann.id(), 40.0, 10.0);
    *late.mutable_location_time() = Ts(NowSeconds() - 600);
    const auto kept = as_ann.ReportLocation(late);
    REQUIRE(kept.ok());
    CHECK(kept.response.history_only());
    CHECK(kept.response.last_location().location().latitude() == Approx(52.5));
    CHECK(FsRows("technician_location_history", tenant) == 2);

    // The history keeps the newest 100 reports.
    for (int i = 0; i < 105; ++i) {
        AgeReports(tenant);
        REQUIRE(as_ann.ReportLocation(Report(ann.id(), 52.0 + i * 0.001, 13.0)).ok());
    }
    CHECK(FsRows("technician_location_history", tenant) == 100);
    CHECK(QueryScalar("fieldservice",
                      "SELECT min(seq) FROM technician_location_history WHERE tenant_id = '" + tenant + "'") == "8");
    const auto last = dispatcher.GetTechnician([&] {
        fv1::GetTechnicianRequest g;
        g.set_id(ann.id());
        return g;
    }());
    CHECK(last.response.technician().last_location().location().latitude() == Approx(52.104));
}

TEST_CASE("fieldservice: of concurrent location reports of one technician exactly one is accepted",
          "[integration][fieldservice][location]") {
    const std::string tenant = UniqueTenant("fsl");
    FieldServiceClient dispatcher(TokenFor(tenant, {"dispatcher"}));
    const auto ann = MustTechnician(dispatcher, {.user_id = "ann@example.com"});
    REQUIRE(dispatcher.ReportLocation(Report(ann.id(), 52.5, 13.4)).ok());
    for (int round = 0; round < 10; ++round) {
        AgeReports(tenant);
        std::vector<std::future<grpc::StatusCode>> calls;
        for (int i = 0; i < 4; ++i) {
            calls.push_back(std::async(std::launch::async, [&, i] {
                return dispatcher.ReportLocation(Report(ann.id(), 52.5 + i * 0.01, 13.4)).status.error_code();
            }));
        }
        int accepted = 0, limited = 0;
        for (auto& c : calls) {
            const auto code = c.get();
            accepted += code == grpc::StatusCode::OK;
            limited += code == grpc::StatusCode::RESOURCE_EXHAUSTED;
        }
        INFO("round " << round);
        CHECK(accepted == 1);
        CHECK(limited == 3);
    }
    CHECK(FsRows("technician_location_history", tenant) == 11);
}

TEST_CASE("fieldservice: candidates travel from a recent live position, also far from their home base",
          "[integration][fieldservice][location]") {
    const std::string tenant = UniqueTenant("fsl");
    FieldServiceClient dispatcher(TokenFor(tenant, {"dispatcher"}));
    const double site_lat = 52.52, site_lon = 13.705;
    // 55 technicians 3..5 km from the site (more than the 50 the nearest-by-home scan reads), and Bob, whose home is
    // in Munich (500 km away): without a live position he is not even looked at.
    for (int i = 0; i < 55; ++i) {
        AlwaysWorking(dispatcher, "near" + std::to_string(i) + "@example.com", site_lat + 0.03 + i * 0.0003, site_lon);
    }
    const auto bob = AlwaysWorking(dispatcher, "bob@example.com", 48.14, 11.58);
    const std::int64_t now = NowSeconds();
    const auto job = MustWorkOrder(
        dispatcher, {.latitude = site_lat, .longitude = site_lon, .windows = {Window(now + 3600, now + 5 * 3600)}});
    fv1::FindCandidatesRequest find;
    find.set_work_order_id(job.id());
    find.set_max_candidates(50);
    const auto before = dispatcher.FindCandidates(find);
    REQUIRE(before.ok());
    REQUIRE(before.response.candidates_size() > 0);
    for (const auto& c : before.response.candidates()) CHECK(c.technician_id() != bob.id());
    CHECK(before.response.candidates(0).travel_minutes() >= 4);

    // Bob, on his rounds, reports from 0.68 km away: he is now the nearest, travel from there.
    FieldServiceClient as_bob(TechnicianToken(tenant, "bob@example.com"));
    REQUIRE(as_bob.ReportLocation(Report(bob.id(), site_lat, site_lon - 0.01)).ok());
    const auto after = dispatcher.FindCandidates(find);
    REQUIRE(after.ok());
    REQUIRE(after.response.candidates_size() > 0);
    const auto& best = after.response.candidates(0);
    CHECK(best.technician_id() == bob.id());
    CHECK(best.distance_meters() ==
          static_cast<std::int64_t>(std::llround(Haversine(site_lat, site_lon - 0.01, site_lat, site_lon))));
    CHECK(best.travel_minutes() == 1);  // 0.68 km at 50 km/h, rounded up

    // A stale report (older than the live-position age, 15 minutes) counts no more.
    QueryScalar("fieldservice",
                "UPDATE technician_locations SET location_time = now() - interval '1 hour' "
                "WHERE tenant_id = '" +
                    tenant + "'");
    const auto stale = dispatcher.FindCandidates(find);
    REQUIRE(stale.ok());
    for (const auto& c : stale.response.candidates()) CHECK(c.technician_id() != bob.id());
}

TEST_CASE("fieldservice: the live-position query is a KNN scan of its GiST index as the app role at scale",
          "[integration][fieldservice][explain]") {
    const std::string tenant = UniqueTenant("fslx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_FIELDSERVICE_URL"));
    {
        pqxx::work tx(conn);
        for (const std::string& t : {tenant, tenant + "-other"}) {
            tx.exec("INSERT INTO technicians (tenant_id, id, user_id, display_name, home, time_zone) SELECT '" + t +
                    "', gen_random_uuid(), 'u' || g, 'T' || g, ST_SetSRID(ST_MakePoint(13 + random(), 52 + "
                    "random()), 4326)::geography, 'Europe/Berlin' FROM generate_series(1, 10000) g");
            tx.exec(
                "INSERT INTO technician_skills (tenant_id, technician_id, skill, level) SELECT tenant_id, id, "
                "'hvac', 1 + (abs(hashtext(id::text)) % 5) FROM technicians WHERE tenant_id = '" +
                t + "'");
            tx.exec(
                "INSERT INTO technician_locations (tenant_id, technician_id, location, location_time) SELECT "
                "tenant_id, id, ST_SetSRID(ST_MakePoint(13 + random(), 52 + random()), 4326)::geography, "
                "now() - random() * interval '2 hours' FROM technicians WHERE tenant_id = '" +
                t + "'");
        }
        tx.exec("ANALYZE technicians");
        tx.exec("ANALYZE technician_skills");
        tx.exec("ANALYZE technician_locations");
        tx.commit();
    }
    const std::string fresh_after = std::to_string((NowSeconds() - 900) * 1000000LL);
    const QueryPlan plan = ExplainAs(
        conn, "fieldservice_app", tenant, crm::fieldservice::sql::kNearestQualifiedLive.text,
        "'" + tenant + "', 52.5, 13.4, '[{\"skill\":\"hvac\",\"min_level\":3}]', 1800000000000000, 50, " + fresh_after);
    INFO(plan.text);
    CHECK(plan.Uses("technician_locations_where"));
    CHECK_FALSE(plan.Has("Seq Scan technicians"));
    CHECK_FALSE(plan.Has("Seq Scan technician_locations"));
    CHECK_FALSE(plan.Has("Sort"));
    CHECK(plan.ms < 200);
}
