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
#include "sealed.hpp"
#include "subject_data/sql.hpp"

using namespace crm::test;
namespace sql = crm::sales::sql;

namespace {

// The personal columns of generated activities as the service stores them (migration 0007): sealed values ("pv1." +
// ..., never opened here), so that the generated rows are not taken for rows written before encryption at rest (the
// backfill of a sales process started meanwhile leaves them alone).
#define CRM_SEALED_ACTIVITY_VALUES "'pv1.Call' || g, 'pv1.notes' || g"

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
            ", gen_random_uuid(), 'CALL', " CRM_SEALED_ACTIVITY_VALUES
            ", gen_random_uuid(), "
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

// The data-subject statements (subject_data/sql.hpp) find a person's deals by contact and by lead
// (opportunities_tenant_contact, opportunities_tenant_lead), their activities by contact, lead and deal
// (activities_contact, activities_lead, activities_opportunity) and their deals' quotes (quotes_opportunity): at
// 100,000 deals and 100,000 activities in one tenant, export and erase never scan a table that grows with the tenant.
TEST_CASE("sales: the data-subject statements are index-backed at 100k deals and activities (EXPLAIN as the app role)",
          "[integration][sales][explain][subject_data]") {
    const std::string tenant = UniqueTenant("sx");
    SalesClient api(TokenFor(tenant));
    const sv1::Pipeline p = api.MustDefaultPipeline();
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SALES_URL"));
    std::string contact, lead;
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // Deals: a third with a contact, a third with a lead; activities: on contacts, leads and deals.
        tx.exec(
            "INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, amount_minor, "
            "currency, contact_id, lead_id, description, create_time) SELECT " +
            t + ", md5(" + t + " || 'o' || g)::uuid, 'Deal ' || g, " + tx.quote(p.id()) + "::uuid, " +
            tx.quote(p.stages(0).id()) + "::uuid, 10, g * 100, 'EUR', CASE WHEN g % 3 = 0 THEN md5(" + t +
            " || 'c' || g)::uuid END, CASE WHEN g % 3 = 1 THEN md5(" + t +
            " || 'l' || g)::uuid END, 'pv1.about' || g, now() - g * interval '1 second' "
            "FROM generate_series(1, 100000) AS g");
        tx.exec(
            "INSERT INTO activities (tenant_id, id, type, subject, description, contact_id, lead_id, opportunity_id, "
            "create_time) SELECT " +
            t + ", gen_random_uuid(), 'CALL', " CRM_SEALED_ACTIVITY_VALUES ", CASE WHEN g % 3 = 0 THEN md5(" + t +
            " || 'c' || g)::uuid END, CASE WHEN g % 3 = 1 THEN md5(" + t +
            " || 'l' || g)::uuid END, CASE WHEN g % 3 = 2 THEN md5(" + t +
            " || 'o' || (g + 1))::uuid END, now() - g * interval '1 second' FROM generate_series(1, 100000) AS g");
        tx.exec(
            "INSERT INTO stage_history (tenant_id, opportunity_id, seq, stage_id, stage_name, forecast_category, "
            "probability, enter_time) SELECT tenant_id, id, 1, stage_id, 'Lead in', 'PIPELINE', 10, create_time "
            "FROM opportunities WHERE tenant_id = " +
            t);
        tx.exec(
            "INSERT INTO quotes (tenant_id, id, opportunity_id, title, currency, line_items, subtotal_minor, "
            "discount_minor, net_minor, tax_minor, total_minor) SELECT " +
            t + ", gen_random_uuid(), md5(" + t +
            " || 'o' || g)::uuid, 'Offer ' || g, 'EUR', '[]', 0, 0, 0, 0, 0 "
            "FROM generate_series(3, 100000, 10) AS g");
        contact = tx.exec1("SELECT md5(" + t + " || 'c' || 3003)::uuid::text")[0].as<std::string>();
        lead = tx.exec1("SELECT md5(" + t + " || 'l' || 3004)::uuid::text")[0].as<std::string>();
        // Rows as written before encryption at rest (the service's backfill seals them: harmless here).
        tx.exec(
            "INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, amount_minor, "
            "currency, description) SELECT " +
            t + ", gen_random_uuid(), 'Clear ' || g, " + tx.quote(p.id()) + "::uuid, " + tx.quote(p.stages(0).id()) +
            "::uuid, 10, 100, 'EUR', 'clear ' || g FROM generate_series(1, 5) AS g");
        tx.exec("INSERT INTO activities (tenant_id, id, type, subject, lead_id) SELECT " + t +
                ", gen_random_uuid(), 'CALL', 'Clear ' || g, gen_random_uuid() FROM generate_series(1, 5) AS g");
        tx.exec("ANALYZE opportunities");
        tx.exec("ANALYZE activities");
        tx.exec("ANALYZE quotes");
        tx.exec("ANALYZE stage_history");
        tx.commit();
    }
    namespace dsql = crm::sales::subject_data::sql;
    const std::string args = "'" + tenant + "', '{" + contact + "}', '{" + lead + "}'";
    const std::string erase_args = args + ", '(erased on request)'";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        const std::string& args;
        std::vector<const char*> indexes;
    };
    const Case cases[] = {
        {"export deals",
         dsql::kExportOpportunities,
         args,
         {"opportunities_tenant_contact", "opportunities_tenant_lead"}},
        {"export activities",
         dsql::kExportActivities,
         args,
         {"activities_contact", "activities_lead", "activities_opportunity"}},
        {"export quotes", dsql::kExportQuotes, args, {"quotes_opportunity"}},
        {"erase deals",
         dsql::kEraseOpportunities,
         erase_args,
         {"opportunities_tenant_contact", "opportunities_tenant_lead"}},
        {"erase activities",
         dsql::kEraseActivities,
         erase_args,
         {"activities_contact", "activities_lead", "activities_opportunity"}},
        {"erase quotes", dsql::kEraseQuotes, erase_args, {"quotes_opportunity"}},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = Explain(conn, tenant, c.statement, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        for (const char* table : {"opportunities", "activities", "quotes", "stage_history"}) {
            CHECK_FALSE(plan.Has(std::string("Seq Scan ") + table));
        }
        for (const char* index : c.indexes) CHECK(plan.Uses(index));
    }

    // Encryption at rest (migration 0007): the backfill's batches, as the kit's BackfillSealedColumns runs them for
    // the sales tables, find the few clear rows through the partial indexes of unsealed rows.
    for (const auto& table : {crm::sales::sealed::Activities(), crm::sales::sealed::Opportunities()}) {
        const QueryPlan plan =
            ExplainAs(conn, "sales_app", tenant, crm::common::SealedBatchQuery(table), "'" + tenant + "'");
        INFO("backfill batch of " << table.table << " (" << plan.ms << " ms): " << plan.text);
        CHECK(plan.Uses(table.table + "_unsealed"));
        CHECK_FALSE(plan.Has("Seq Scan " + table.table));
    }
}
