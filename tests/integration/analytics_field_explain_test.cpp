// The field KPI reads stay index-backed at a realistic size: the service's own SQL (field_kpis/sql.hpp) EXPLAINed as
// the application role (non-owner, under the FORCEd row-level security policy) on a tenant of 100,000 completed work
// orders over two years and 500 technicians with three versions each (beside 40 other tenants of that size). A
// month's completions come from the (tenant_id, completed_at) index, the technicians from the primary key: never a
// sequential scan.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/harness.hpp"
#include "field_kpis/sql.hpp"

using namespace crm::test;
namespace sql = crm::analytics::field::sql;

TEST_CASE("analytics field KPIs: the period reads are index-backed at 100k work orders (EXPLAIN as the app role)",
          "[integration][analytics][field_kpis][explain]") {
    const std::string tenant = UniqueTenant("afx");
    pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));  // superuser: seeds, then acts as analytics_app
    {
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        tx.exec(
            "INSERT INTO analytics_field_completions (tenant_id, work_order_id, version, event_id, completed_at, "
            "created_at, technician_id, first_time_fix, travel_micros, on_site_micros, has_windows, window_kept) "
            "SELECT " +
            t + ", md5(" + t +
            " || g)::uuid, 6, gen_random_uuid(), timestamptz '2024-03-01' + g * interval '10 minutes', "
            "timestamptz '2024-02-28' + g * interval '10 minutes', 'tech-' || (g % 500), g % 4 > 0, 1800000000, "
            "3600000000, g % 2 = 0, g % 3 > 0 FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO analytics_field_technician_versions (tenant_id, technician_id, version, event_id, "
            "occurred_at, territory, time_zone, active, working_hours, time_off) SELECT " +
            t + ", md5(" + t +
            " || 'tech' || g)::uuid, v, gen_random_uuid(), timestamptz '2024-01-01' + v * interval '30 days', "
            "'t' || (g % 7), 'Europe/Berlin', true, '[{\"weekday\":1,\"start_minute\":480,\"end_minute\":1020}]', "
            "'[]' FROM generate_series(1, 500) g, generate_series(1, 3) v");
        // The table holds every tenant's technicians: 40 other tenants of the same size beside this one.
        tx.exec(
            "INSERT INTO analytics_field_technician_versions (tenant_id, technician_id, version, event_id, "
            "occurred_at, territory, time_zone, active, working_hours, time_off) SELECT " +
            t +
            " || '-other-' || o, gen_random_uuid(), v, gen_random_uuid(), now(), 't', 'UTC', true, '[]', '[]' "
            "FROM generate_series(1, 40) o, generate_series(1, 500) g, generate_series(1, 3) v");
        tx.commit();
    }
    {
        pqxx::nontransaction n(db);
        n.exec("ANALYZE analytics_field_completions, analytics_field_technician_versions");
    }
    pqxx::work quoting(db);
    const std::string t = quoting.quote(tenant);
    quoting.abort();
    const std::string month = "1767225600000000, 1769904000000000";  // 2026-01-01 .. 2026-02-01

    SECTION("a month's completions") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kLoadCompletionsIn.text, t + ", " + month);
        INFO(p.text);
        CHECK_FALSE(p.Has("Seq Scan analytics_field_completions"));
        CHECK(p.Uses("analytics_field_completions_completed"));
        WARN("field completions of a month at 100k work orders: " << p.ms << " ms");
    }
    SECTION("the tenant's technicians") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kLoadTechnicians.text, t);
        INFO(p.text);
        CHECK_FALSE(p.Has("Seq Scan analytics_field_technician_versions"));
        WARN("technician versions (1,500) of the tenant: " << p.ms << " ms");
    }
}
