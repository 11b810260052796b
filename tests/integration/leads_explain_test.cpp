// ConvertLead's last step (lifecycle/sql.hpp kMarkConverted: lock, status check, update and read back in one
// statement) stays a primary-key probe at 100,000 leads in one tenant: EXPLAINed as the application role (non-owner,
// under the FORCEd row-level security policy; the statement runs, then is rolled back). A sequential scan of leads
// fails the test.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/harness.hpp"
#include "../support/retention_explain.hpp"
#include "lifecycle/sql.hpp"
#include "retention/sql.hpp"
// By path: analytics has a subject_data/sql.hpp too, and this binary sees both services' src/.
#include "../../services/leads/src/subject_data/sql.hpp"

using namespace crm::test;

TEST_CASE("leads: marking a lead converted is a primary-key probe at 100k leads (EXPLAIN as the app role)",
          "[integration][leads][explain]") {
    const std::string tenant = UniqueTenant("lx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    std::string lead_id;
    {
        pqxx::work tx(conn);
        tx.exec("INSERT INTO leads (tenant_id, id, given_name, family_name, email, status, create_time) SELECT " +
                tx.quote(tenant) +
                ", gen_random_uuid(), 'Given' || g, 'Family' || g, 'lead' || g || '@example.com', "
                "(ARRAY['NEW', 'WORKING', 'QUALIFIED'])[1 + g % 3], now() - g * interval '1 second' "
                "FROM generate_series(1, 100000) AS g");
        lead_id = tx.exec1("SELECT id::text FROM leads WHERE tenant_id = " + tx.quote(tenant) +
                           " AND status = 'QUALIFIED' LIMIT 1")[0]
                      .as<std::string>();
        tx.exec("ANALYZE leads");
        tx.commit();
    }
    const QueryPlan plan =
        ExplainAs(conn, "leads_app", tenant, crm::leads::lifecycle::sql::kMarkConverted.text,
                  "'" + tenant + "', '" + lead_id +
                      "', '00000000-0000-4000-8000-000000000001', NULL, '', false, false, '{QUALIFIED}'");
    INFO("mark converted (" << plan.ms << " ms): " << plan.text);
    CHECK_FALSE(plan.Has("Seq Scan leads"));
    CHECK(plan.Uses("leads_pkey"));
    CHECK(plan.Has("ModifyTable leads"));
    CHECK(plan.Has("LockRows"));
}

// The retention rule's statements (retention/sql.hpp) read the tenant's aged unconverted leads through
// leads_retention, oldest first, a batch at a time: at 100,000 leads over two years of last changes, a count and a
// batch of 500 of the oldest never scan the table.
TEST_CASE("leads: the retention rule's count and batches are index-backed at 100k leads (EXPLAIN as the app role)",
          "[integration][leads][explain][retention]") {
    const std::string tenant = UniqueTenant("lx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    {
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO leads (tenant_id, id, given_name, family_name, email, status, convert_time, "
            "create_time, update_time) SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), 'Given' || g, 'Family' || g, 'lead' || g || '@example.com', "
            "(ARRAY['NEW', 'WORKING', 'QUALIFIED', 'CONVERTED'])[1 + g % 4], "
            "CASE WHEN g % 4 = 3 THEN now() END, now() - g * interval '10 minutes', "
            "now() - g * interval '10 minutes' FROM generate_series(1, 100000) AS g");
        tx.exec(
            "INSERT INTO lead_engagements (tenant_id, id, lead_id, type, direction, occur_time, detail) "
            "SELECT tenant_id, gen_random_uuid(), id, 'web_visit', 'INBOUND', update_time, 'pricing page' "
            "FROM leads WHERE tenant_id = " +
            tx.quote(tenant) + " AND family_name LIKE '%5'");
        tx.exec("ANALYZE leads");
        tx.exec("ANALYZE lead_engagements");
        tx.commit();
    }
    namespace sql = crm::leads::retention::sql;
    CheckRetentionPlans(conn, "leads_app", tenant, sql::kCount, sql::kDelete, sql::kAnonymise,
                        {"leads", "lead_engagements"}, "leads_retention");
}

// The data-subject statements (subject_data/sql.hpp) find a person's leads by id, converted contact and e-mail, one
// index per way (leads_pkey, leads_tenant_contact, leads_tenant_email), and their engagements by lead
// (lead_engagements_lead): at 100,000 leads with engagements, resolve, export and erase never scan either table.
TEST_CASE("leads: the data-subject statements are index-backed at 100k leads (EXPLAIN as the app role)",
          "[integration][leads][explain][subject_data]") {
    const std::string tenant = UniqueTenant("lx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    std::string lead, contact, email, other_email;
    {
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO leads (tenant_id, id, given_name, family_name, email, status, contact_id, convert_time, "
            "create_time) SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), 'Given' || g, 'Family' || g, 'lead' || g || '@example.com', "
            "(ARRAY['NEW', 'WORKING', 'UNQUALIFIED', 'CONVERTED'])[1 + g % 4], "
            "CASE WHEN g % 4 = 3 THEN gen_random_uuid() END, CASE WHEN g % 4 = 3 THEN now() END, "
            "now() - g * interval '1 second' FROM generate_series(1, 100000) AS g");
        tx.exec(
            "INSERT INTO lead_engagements (tenant_id, id, lead_id, type, direction, occur_time, detail) "
            "SELECT tenant_id, gen_random_uuid(), id, 'call', 'OUTBOUND', create_time, 'talked to ' || given_name "
            "FROM leads WHERE tenant_id = " +
            tx.quote(tenant) + " AND family_name LIKE '%3'");
        const pqxx::row row =
            tx.exec1("SELECT id::text, contact_id::text, email FROM leads WHERE tenant_id = " + tx.quote(tenant) +
                     " AND family_name = 'Family4003'");
        lead = row[0].as<std::string>();
        contact = row[1].as<std::string>();
        email = row[2].as<std::string>();
        other_email = "lead4002@example.com";  // an unqualified lead's (outside the open-lead index)
        tx.exec("ANALYZE leads");
        tx.exec("ANALYZE lead_engagements");
        tx.commit();
    }
    namespace sql = crm::leads::subject_data::sql;
    const std::string args =
        "'" + tenant + "', '{" + contact + "}', '{" + lead + "}', '{" + email + "," + other_email + "}'";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        bool engagements;
    };
    const Case cases[] = {{"resolve", sql::kResolve, false},
                          {"export leads", sql::kExportLeads, false},
                          {"export engagements", sql::kExportEngagements, true},
                          {"erase engagements", sql::kEraseEngagements, true},
                          {"erase leads", sql::kEraseLeads, false}};
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, "leads_app", tenant, c.statement.text, args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        CHECK_FALSE(plan.Has("Seq Scan leads"));
        CHECK_FALSE(plan.Has("Seq Scan lead_engagements"));
        CHECK(plan.Uses("leads_pkey"));
        CHECK(plan.Uses("leads_tenant_contact"));
        CHECK(plan.Uses("leads_tenant_email"));
        if (c.engagements) CHECK(plan.Uses("lead_engagements_lead"));
    }
}
