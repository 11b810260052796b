// The case lists and a case's conversation stay index-backed at 100,000 cases (and 100,000 entries) in one tenant:
// the service's own SQL (cases/sql.hpp, conversation/sql.hpp) is EXPLAINed as the application role (non-owner, under
// the FORCEd row-level security policy), where only leakproof operators can be index conditions. A plan with a
// sequential scan or a sort of the whole filtered set fails the test. The rows carry sealed stand-ins ("pv1." values,
// as the service stores personal columns since migration 0104), so the backfill leaves them alone; its batch query is
// EXPLAINed too, for every sealed table.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/support_client.hpp"
#include "cases/sql.hpp"
#include "conversation/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sealed.hpp"
#include "sentiment/sql.hpp"

using namespace crm::test;

TEST_CASE("support: case lists and conversations are index-backed at 100k rows (EXPLAIN as the app role)",
          "[integration][support][explain]") {
    const std::string tenant = UniqueTenant("sx");
    SupportClient api(TokenFor(tenant));
    const spv1::Case one = api.MustCreateCase("The one with the long thread");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // 100,000 cases over the statuses, 50 agents and 1,000 contacts; 100,000 entries on one case.
        tx.exec(
            "INSERT INTO cases (tenant_id, id, number, subject, status, assignee_id, contact_id, create_time) "
            "SELECT " +
            t +
            ", gen_random_uuid(), 1000 + g, 'pv1.Case' || g, "
            "(ARRAY['NEW','OPEN','PENDING_CUSTOMER','ON_HOLD','SOLVED','CLOSED'])[1 + g % 6], 'agent-' || g % 50, "
            "md5('contact' || g % 1000)::uuid, now() - g * interval '1 second' FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO case_messages (tenant_id, id, case_id, kind, channel, author_id, body, occur_time, "
            "create_time, sentiment_score, sentiment_label) SELECT " +
            t + ", gen_random_uuid(), " + tx.quote(one.id()) +
            "::uuid, (ARRAY['CUSTOMER_MESSAGE','PUBLIC_REPLY','INTERNAL_NOTE'])[1 + g % 3], 'EMAIL', 'a', "
            "'pv1.text' || g, now(), now() - g * interval '1 second', "
            "CASE WHEN g % 3 = 0 THEN (g % 200 - 100) / 100.0 END, CASE WHEN g % 3 = 0 THEN 'NEUTRAL' END "
            "FROM generate_series(1, 100000) g");
        tx.exec("ANALYZE cases");
        tx.exec("ANALYZE case_messages");
        tx.commit();
    }
    const std::string t = "'" + tenant + "'";
    const std::string start = "-62135596800000000, '00000000-0000-0000-0000-000000000000', 51";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        const char* index;
    };
    const std::string contact = "md5('contact7')::uuid";
    const Case cases[] = {
        {"all cases", crm::support::cases::sql::kListCases, t + ", " + start + ", NULL, NULL, NULL",
         "cases_tenant_create"},
        {"by status", crm::support::cases::sql::kListCases, t + ", " + start + ", 'OPEN', NULL, NULL",
         "cases_tenant_status"},
        {"by assignee", crm::support::cases::sql::kListCases, t + ", " + start + ", NULL, 'agent-7', NULL",
         "cases_tenant_assignee"},
        {"by contact", crm::support::cases::sql::kListCases, t + ", " + start + ", NULL, NULL, " + contact,
         "cases_tenant_contact"},
        {"a conversation", crm::support::conversation::sql::kListMessages,
         t + ", '" + one.id() + "', -62135596800000000, '00000000-0000-0000-0000-000000000000', false, 51",
         "case_messages_case"},
        {"the customer view's sentiment trends", crm::support::sentiment::sql::kRecentScores,
         t + ", '{" + one.id() + "," + crm::common::NewUuid() + "}', 10", "case_messages_case"},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, "support_app", tenant, c.statement.text, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        CHECK_FALSE(plan.Has("Seq Scan cases"));
        CHECK_FALSE(plan.Has("Seq Scan case_messages"));
        CHECK(plan.Uses(c.index));
        CHECK_FALSE(plan.Has("Sort"));
    }
    // The backfill's batch of each sealed table, as the kit's BackfillSealedColumns runs it: through the table's
    // partial index of rows still to seal (migration 0104), never a scan of the tenant's rows.
    for (const auto& table : crm::support::sealed::Tables()) {
        const QueryPlan plan =
            ExplainAs(conn, "support_app", tenant, crm::common::SealedBatchQuery(table), "'" + tenant + "'");
        INFO("backfill batch of " << table.table << " (" << plan.ms << " ms): " << plan.text);
        CHECK(plan.Uses(table.table + "_unsealed"));
        CHECK_FALSE(plan.Has("Seq Scan " + table.table));
    }
}
