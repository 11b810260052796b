// The list and forecast queries stay index-backed at 100,000 opportunities in one tenant: the service's own SQL
// (opportunities/sql.hpp, forecast/sql.hpp) is EXPLAINed as the application role (non-owner, under the FORCEd
// row-level security policy), where only leakproof operators can be index conditions. A plan with a sequential scan
// of opportunities or a sort of the whole filtered set fails the test.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/retention_explain.hpp"
#include "../support/sales_client.hpp"
#include "forecast/sql.hpp"
#include "opportunities/sql.hpp"
#include "retention/sql.hpp"

using namespace crm::test;
namespace sql = crm::sales::sql;

namespace {

QueryPlan Explain(pqxx::connection& conn, const std::string& tenant, const crm::common::Sql& statement,
                  const std::string& args) {
    return ExplainAs(conn, "sales_app", tenant, statement.text, args);
}

}  // namespace

TEST_CASE("sales: opportunity lists and the forecast are index-backed at 100k rows (EXPLAIN as the app role)",
          "[integration][sales][explain]") {
    const std::string tenant = UniqueTenant("sx");
    SalesClient api(TokenFor(tenant));
    const sv1::Pipeline p = api.MustDefaultPipeline();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SALES_URL"));
    {
        pqxx::work tx(conn);
        // 100,000 deals over the four open stages, 50 owners and two years of close dates.
        tx.exec(
            "INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, amount_minor, "
            "currency, expected_close_date, owner_id, create_time) "
            "SELECT " +
            tx.quote(tenant) + ", gen_random_uuid(), 'Deal ' || g, " + tx.quote(p.id()) +
            "::uuid, "
            "(ARRAY[" +
            tx.quote(p.stages(0).id()) + ", " + tx.quote(p.stages(1).id()) + ", " + tx.quote(p.stages(2).id()) + ", " +
            tx.quote(p.stages(3).id()) +
            "])[1 + g % 4]::uuid, 10, g * 100, "
            "'EUR', DATE '2030-01-01' + g % 730, 'owner-' || g % 50, now() - g * interval '1 second' "
            "FROM generate_series(1, 100000) AS g");
        tx.exec("ANALYZE opportunities");
        tx.commit();
    }
    const std::string t = "'" + tenant + "'";
    const std::string start = "-62135596800000000, '00000000-0000-0000-0000-000000000000'";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        const char* index;
    };
    const std::string pipe = "'" + p.id() + "'", stage = "'" + p.stages(2).id() + "'";
    const Case cases[] = {
        {"all, by create time", sql::kListOpportunities,
         t + ", NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, " + start + ", 51",
         "opportunities_tenant_create"},
        {"pipeline and stage", sql::kListOpportunities,
         t + ", " + pipe + ", " + stage + ", NULL, NULL, NULL, NULL, false, NULL, NULL, " + start + ", 51",
         "opportunities_tenant_stage"},
        {"owner", sql::kListOpportunities,
         t + ", NULL, NULL, 'owner-7', NULL, NULL, NULL, false, NULL, NULL, " + start + ", 51",
         "opportunities_tenant_owner"},
        {"close-date range by close date", sql::kListOpportunitiesByClose,
         t + ", NULL, NULL, NULL, NULL, '2030-06-01', '2030-06-30', false, NULL, NULL, '0001-01-01', "
             "'00000000-0000-0000-0000-000000000000', 51",
         "opportunities_tenant_close"},
        {"owner and close dates by close date", sql::kListOpportunitiesByClose,
         t + ", NULL, NULL, 'owner-7', NULL, '2030-06-01', '2031-06-30', false, NULL, NULL, '0001-01-01', "
             "'00000000-0000-0000-0000-000000000000', 51",
         "opportunities_tenant_owner_close"},
        {"forecast of a month (open deals)", sql::kForecastOpen, t + ", 'EUR', '2030-06-01', '2030-06-30', NULL, NULL",
         "opportunities_forecast_open"},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = Explain(conn, tenant, c.statement, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        CHECK_FALSE(plan.Has("Seq Scan opportunities"));
        CHECK(plan.Uses(c.index));
        if (std::string(c.what).find("forecast") == std::string::npos) CHECK_FALSE(plan.Has("Sort"));
    }
    // The create path: the insert with its first history row and the read back (one statement), at the same 100,000
    // deals. (The default pipeline's share lock reads one row of a table of a few rows per tenant.)
    const std::string stage0 = "'" + p.stages(0).id() + "'";
    std::string stage_name, category;
    {
        pqxx::work tx(conn);
        const pqxx::row row = tx.exec1(
            "SELECT quote_literal(name), quote_literal(forecast_category) FROM stages "
            "WHERE id = " +
            stage0);
        stage_name = row[0].as<std::string>();
        category = row[1].as<std::string>();
    }
    const QueryPlan insert = Explain(conn, tenant, sql::kInsertOpportunity,
                                     t + ", gen_random_uuid(), 'Deal', " + pipe + ", " + stage0 +
                                         ", 10, 100, 'EUR', NULL, 'owner-1', NULL, NULL, '', NULL, '', " + stage_name +
                                         ", " + category + ", 'u'");
    INFO("insert with history and read back (" << insert.ms << " ms): " << insert.text);
    // The tables that grow with the tenant are never scanned (a scan of the few rows of stages or of a CTE is the
    // planner's right choice when its statistics say they are tiny: one full run saw one on stages).
    for (const char* table : {"opportunities", "stage_history", "idempotency_keys"}) {
        INFO(table);
        CHECK_FALSE(insert.Has(std::string("Seq Scan ") + table));
    }
}

// The retention rule's statements (retention/sql.hpp) read the tenant's old completed activities through
// activities_retention, oldest first, a batch at a time: at 100,000 activities over two years, never a scan.
TEST_CASE("sales: the retention rule's count and batches are index-backed at 100k activities (EXPLAIN as the app role)",
          "[integration][sales][explain][retention]") {
    const std::string tenant = UniqueTenant("sx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SALES_URL"));
    {
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO activities (tenant_id, id, type, subject, description, contact_id, status, complete_time, "
            "outcome, create_time) SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), 'CALL', 'Call ' || g, 'notes ' || g, gen_random_uuid(), "
            "CASE WHEN g % 5 = 0 THEN 'OPEN' ELSE 'COMPLETED' END, "
            "CASE WHEN g % 5 = 0 THEN NULL ELSE now() - g * interval '10 minutes' END, '', "
            "now() - g * interval '10 minutes' FROM generate_series(1, 100000) AS g");
        tx.exec("ANALYZE activities");
        tx.commit();
    }
    namespace rsql = crm::sales::retention::sql;
    CheckRetentionPlans(conn, "sales_app", tenant, rsql::kCount, rsql::kDelete, rsql::kAnonymise, {"activities"},
                        "activities_retention");
}
