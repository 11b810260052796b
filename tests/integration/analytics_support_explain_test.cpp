// The support KPI reads stay index-backed at a realistic size: the service's own SQL (support_kpis/sql.hpp) EXPLAINed
// as the application role (non-owner, under the FORCEd row-level security policy) on a tenant of 100,000 cases over two
// years (four versions each) and 50,000 CSAT answers. A one-month read must take the cases whose span meets the
// month from the (tenant_id, final_at) index (a recent month: few cases finished after its start) or the
// (tenant_id, created_at) index (an early month: few cases created before its end), their versions by primary key,
// and the month's answers from the (tenant_id, answered_at) index: never a sequential scan of a support table.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/harness.hpp"
#include "support_kpis/sql.hpp"

using namespace crm::test;
namespace sql = crm::analytics::support::sql;

namespace {

bool ScansSupport(const QueryPlan& p) {
    return p.Has("Seq Scan analytics_support_case_versions") || p.Has("Seq Scan analytics_support_cases") ||
           p.Has("Seq Scan analytics_support_csat");
}

}  // namespace

TEST_CASE("analytics support KPIs: the period reads are index-backed at 100k cases (EXPLAIN as the app role)",
          "[integration][analytics][support_kpis][explain]") {
    const std::string tenant = UniqueTenant("asx");
    pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));  // superuser: seeds, then acts as analytics_app
    {
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        // Case g is created g * 10 minutes after 2024-03-01 (100,000 cases: ~694 days) and closed 3 days later; the
        // last 2,000 are still open.
        const std::string created = "(timestamptz '2024-03-01' + g * interval '10 minutes')";
        tx.exec(
            "INSERT INTO analytics_support_cases (tenant_id, case_id, created_at, last_version, last_event_id, "
            "final_at) SELECT " +
            t + ", md5(" + t + " || g)::uuid, " + created +
            ", 4, gen_random_uuid(), CASE WHEN g > 98000 THEN "
            "'infinity' ELSE " +
            created + " + interval '3 days' END FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO analytics_support_case_versions (tenant_id, case_id, version, event_id, occurred_at, "
            "event_type, status, queue_id, assignee_id, created_at, reopened) SELECT " +
            t + ", md5(" + t + " || g)::uuid, v, gen_random_uuid(), " + created +
            " + v * interval '18 hours', 'CaseStatusChanged', CASE v WHEN 4 THEN 'CLOSED' ELSE 'OPEN' END, 'q' || (g % "
            "20), 'agent-' || (g % 50), " +
            created + ", false FROM generate_series(1, 100000) g, generate_series(1, 4) v");
        tx.exec(
            "INSERT INTO analytics_support_csat (tenant_id, survey_id, case_id, event_id, answered_at, score, "
            "agent_id, queue_id) SELECT " +
            t + ", 's' || g, md5(" + t + " || (g * 2))::uuid, gen_random_uuid(), " +
            "(timestamptz '2024-03-01' + g * interval '20 minutes' + interval '2 days'), 1 + g % 5, 'agent-' || (g % "
            "50), "
            "'q' || (g % 20) FROM generate_series(1, 50000) g");
        tx.commit();
    }
    {
        pqxx::nontransaction n(db);
        n.exec("ANALYZE analytics_support_cases, analytics_support_case_versions, analytics_support_csat");
    }
    pqxx::work quoting(db);
    const std::string t = quoting.quote(tenant);
    quoting.abort();
    // The latest month (what dashboards ask for): few cases finished after its start, found by final_at.
    const std::string latest = "1767225600000000, 1769904000000000";  // 2026-01-01 .. 2026-02-01
    // An early month: few cases created before its end, found by created_at.
    const std::string early = "1711929600000000, 1714521600000000";  // 2024-04-01 .. 2024-05-01

    SECTION("the cases meeting the latest month and their versions") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kLoadCasesMeeting.text, t + ", " + latest);
        INFO(p.text);
        CHECK_FALSE(ScansSupport(p));
        CHECK(p.Uses("analytics_support_cases_final"));
        CHECK(p.Uses("analytics_support_case_versions_pkey"));
        WARN("support cases of the latest month at 100k cases: " << p.ms << " ms");
    }
    SECTION("the cases meeting an early month and their versions") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kLoadCasesMeeting.text, t + ", " + early);
        INFO(p.text);
        CHECK_FALSE(ScansSupport(p));
        CHECK(p.Uses("analytics_support_cases_created"));
        CHECK(p.Uses("analytics_support_case_versions_pkey"));
        WARN("support cases of an early month at 100k cases: " << p.ms << " ms");
    }
    SECTION("the month's CSAT answers") {
        const QueryPlan p = ExplainAs(db, "analytics_app", tenant, sql::kLoadCsatIn.text, t + ", " + latest);
        INFO(p.text);
        CHECK_FALSE(ScansSupport(p));
        CHECK(p.Uses("analytics_support_csat_answered"));
        WARN("CSAT answers of a month at 100k cases: " << p.ms << " ms");
    }
}
