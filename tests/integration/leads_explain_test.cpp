// ConvertLead's last step (lifecycle/sql.hpp kMarkConverted: lock, status check, update and read back in one
// statement) stays a primary-key probe at 100,000 leads in one tenant: EXPLAINed as the application role (non-owner,
// under the FORCEd row-level security policy; the statement runs, then is rolled back). A sequential scan of leads
// fails the test.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/harness.hpp"
#include "../support/retention_explain.hpp"
#include "lifecycle/sealed.hpp"
#include "lifecycle/sql.hpp"
#include "retention/sql.hpp"
// By path: analytics has a subject_data/sql.hpp too, and this binary sees both services' src/.
#include "../../services/leads/src/subject_data/sql.hpp"

using namespace crm::test;

namespace {

// The personal columns of generated leads as the service stores them (migration 0007): sealed values ("pv1." + ...,
// never opened here) and 64-hex blind indexes of the e-mails, so that the generated rows are not taken for rows
// written before encryption at rest (the backfill of a leads process started meanwhile leaves them alone).
// clang-format off
#define CRM_SEALED_LEAD_VALUES                                                                                    \
    "'pv1.Given' || g, 'pv1.Family' || g, 'pv1.lead' || g || '@example.com', "                                    \
    "encode(sha256(convert_to('lead' || g || '@example.com', 'UTF8')), 'hex')"
// clang-format on

}  // namespace

TEST_CASE("leads: marking a lead converted is a primary-key probe at 100k leads (EXPLAIN as the app role)",
          "[integration][leads][explain]") {
    const std::string tenant = UniqueTenant("lx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    std::string lead_id;
    {
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO leads (tenant_id, id, given_name, family_name, email, email_index, status, create_time) "
            "SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), " CRM_SEALED_LEAD_VALUES
            ", (ARRAY['NEW', 'WORKING', 'QUALIFIED'])[1 + g % 3], now() - g * interval '1 second' "
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

// Encryption at rest (migration 0007): the open-lead duplicate check probes the e-mail's blind index
// (leads_open_email on email_index), a lead is read with its wrapped data key (a look-up of crm_subject_keys by its
// primary key, (tenant_id, subject_id); the planner may scan that table while it is tiny), and the
// backfill of rows written before finds them through the partial index of unsealed rows (leads_unsealed), at 100,000
// sealed leads and a few clear ones in the tenant.
TEST_CASE(
    "leads: blind-index look-ups, reads with the data key and the backfill are index-backed at 100k leads "
    "(EXPLAIN as the app role)",
    "[integration][leads][explain][sealed]") {
    const std::string tenant = UniqueTenant("lx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_LEADS_URL"));
    std::string lead_id, email_index;
    {
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO leads (tenant_id, id, given_name, family_name, email, email_index, status, create_time) "
            "SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), " CRM_SEALED_LEAD_VALUES
            ", (ARRAY['NEW', 'WORKING', 'UNQUALIFIED'])[1 + g % 3], now() - g * interval '1 second' "
            "FROM generate_series(1, 100000) AS g");
        // Rows as written before encryption at rest (the service's backfill seals them: harmless here).
        tx.exec("INSERT INTO leads (tenant_id, id, given_name, email) SELECT " + tx.quote(tenant) +
                ", gen_random_uuid(), 'Clear' || g, 'clear' || g || '@example.com' FROM generate_series(1, 5) AS g");
        // Sealed attributes and one sealed engagement per lead (migration 0008), a few clear ones.
        tx.exec(
            "UPDATE leads SET attributes = CASE WHEN given_name LIKE 'Clear%' THEN '{\"utm\": \"newsletter\"}' "
            "ELSE '{\"utm\": \"pv1.x\", \"empty\": \"\"}' END::jsonb WHERE tenant_id = " +
            tx.quote(tenant));
        tx.exec(
            "INSERT INTO lead_engagements (tenant_id, id, lead_id, type, direction, occur_time, detail) SELECT "
            "tenant_id, gen_random_uuid(), id, 'email_open', 'INBOUND', create_time, CASE WHEN given_name LIKE "
            "'Clear%' THEN 'asked about prices' ELSE 'pv1.Detail' END FROM leads WHERE tenant_id = " +
            tx.quote(tenant));
        tx.exec("ANALYZE lead_engagements");
        const pqxx::row row = tx.exec1("SELECT id::text, email_index FROM leads WHERE tenant_id = " + tx.quote(tenant) +
                                       " AND family_name = 'pv1.Family4001'");
        lead_id = row[0].as<std::string>();
        email_index = row[1].as<std::string>();
        tx.exec("ANALYZE leads");
        tx.commit();
    }
    const std::string args = "'" + tenant + "', '" + email_index + "'";

    // The look-up of leads_lock_open_by_email (migration 0007), after its lock.
    const QueryPlan open_lead =
        ExplainAs(conn, "leads_app", tenant,
                  "SELECT id::text FROM leads WHERE tenant_id = $1 AND email_index = $2 AND email_index <> '' "
                  "AND status NOT IN ('CONVERTED', 'UNQUALIFIED') LIMIT 1",
                  args);
    INFO("open lead by e-mail (" << open_lead.ms << " ms): " << open_lead.text);
    CHECK_FALSE(open_lead.Has("Seq Scan leads"));
    CHECK(open_lead.Uses("leads_open_email"));
    // The function itself, as the services call it (a lock and the look-up above).
    pqxx::work check(conn);
    CHECK(check
              .exec1("SELECT count(*) FROM pg_proc WHERE proname = 'leads_lock_open_by_email' AND "
                     "prosrc LIKE '%email_index = p_email_index%'")[0]
              .as<int>() == 1);
    check.abort();

    namespace lsql = crm::leads::lifecycle::sql;
    const QueryPlan get =
        ExplainAs(conn, "leads_app", tenant, lsql::kGetLead.text, "'" + tenant + "', '" + lead_id + "'");
    INFO("get lead (" << get.ms << " ms): " << get.text);
    CHECK(get.Uses("leads_pkey"));
    CHECK_FALSE(get.Has("Seq Scan leads"));

    // The backfill's batch, as the kit's BackfillSealedColumns runs it for the leads' table definition.
    const std::string batch = crm::common::SealedBatchQuery(crm::leads::lifecycle::sealed::Table());
    const QueryPlan backfill = ExplainAs(conn, "leads_app", tenant, batch, "'" + tenant + "'");
    INFO("backfill batch (" << backfill.ms << " ms): " << backfill.text);
    CHECK(backfill.Uses("leads_unsealed"));
    CHECK_FALSE(backfill.Has("Seq Scan leads"));
    // Migration 0008's two backfills: the attributes' values and the engagements' details.
    const QueryPlan attributes =
        ExplainAs(conn, "leads_app", tenant,
                  crm::common::SealedBatchQuery(crm::leads::lifecycle::sealed::AttributesTable()), "'" + tenant + "'");
    INFO("attributes backfill batch (" << attributes.ms << " ms): " << attributes.text);
    CHECK(attributes.Uses("leads_attributes_unsealed"));
    CHECK_FALSE(attributes.Has("Seq Scan leads"));
    const QueryPlan engagements =
        ExplainAs(conn, "leads_app", tenant,
                  crm::common::SealedBatchQuery(crm::leads::lifecycle::sealed::EngagementsTable()), "'" + tenant + "'");
    INFO("engagements backfill batch (" << engagements.ms << " ms): " << engagements.text);
    CHECK(engagements.Uses("lead_engagements_unsealed"));
    CHECK_FALSE(engagements.Has("Seq Scan lead_engagements"));
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
            "INSERT INTO leads (tenant_id, id, given_name, family_name, email, email_index, status, convert_time, "
            "create_time, update_time) SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), " CRM_SEALED_LEAD_VALUES
            ", (ARRAY['NEW', 'WORKING', 'QUALIFIED', 'CONVERTED'])[1 + g % 4], "
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
            "INSERT INTO leads (tenant_id, id, given_name, family_name, email, email_index, status, contact_id, "
            "convert_time, create_time) SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), " CRM_SEALED_LEAD_VALUES
            ", (ARRAY['NEW', 'WORKING', 'UNQUALIFIED', 'CONVERTED'])[1 + g % 4], "
            "CASE WHEN g % 4 = 3 THEN gen_random_uuid() END, CASE WHEN g % 4 = 3 THEN now() END, "
            "now() - g * interval '1 second' FROM generate_series(1, 100000) AS g");
        tx.exec(
            "INSERT INTO lead_engagements (tenant_id, id, lead_id, type, direction, occur_time, detail) "
            "SELECT tenant_id, gen_random_uuid(), id, 'call', 'OUTBOUND', create_time, 'talked to ' || given_name "
            "FROM leads WHERE tenant_id = " +
            tx.quote(tenant) + " AND family_name LIKE '%3'");
        const pqxx::row row =
            tx.exec1("SELECT id::text, contact_id::text, email_index FROM leads WHERE tenant_id = " + tx.quote(tenant) +
                     " AND family_name = 'pv1.Family4003'");
        lead = row[0].as<std::string>();
        contact = row[1].as<std::string>();
        email = row[2].as<std::string>();
        // an unqualified lead's e-mail (outside the open-lead index), by its blind index
        other_email = tx.exec1("SELECT email_index FROM leads WHERE tenant_id = " + tx.quote(tenant) +
                               " AND family_name = 'pv1.Family4002'")[0]
                          .as<std::string>();
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
