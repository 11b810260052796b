// The KPI cache's incremental reads stay index-backed at a large tenant: the service's own SQL (storage/sql.hpp) is
// EXPLAINed as the application role (non-owner, under the FORCEd row-level security policy, where only leakproof
// operators can be index conditions) on a tenant of 20,000 opportunities and leads, after a few new facts arrived.
// "Anything new?" and "the changed aggregates' versions" must not scan the fact tables: each is a probe of the
// (tenant_id, xact_id) index, then the primary key of the aggregates found.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/harness.hpp"
#include "cache/sql.hpp"
#include "facts/sql.hpp"
// By path: leads has a subject_data/sql.hpp too, and this binary sees both services' src/.
#include "../../services/analytics/src/subject_data/sql.hpp"

using namespace crm::test;
namespace sql = crm::analytics::facts::sql;

namespace {

QueryPlan Explain(pqxx::connection& conn, const std::string& tenant, const crm::common::Sql& statement,
                  const std::string& args) {
    return ExplainAs(conn, "analytics_app", tenant, statement.text, args);
}

// A sequential scan of a fact table (the tenant generations table is a handful of rows: scanning it is fine).
bool ScansFacts(const QueryPlan& p) {
    return p.Has("Seq Scan analytics_record_versions") || p.Has("Seq Scan analytics_lead_versions") ||
           p.Has("Seq Scan analytics_opportunity_versions");
}

}  // namespace

TEST_CASE("analytics: the KPI cache's incremental reads are index-backed (EXPLAIN as the app role)",
          "[integration][analytics][cache][explain]") {
    const std::string tenant = UniqueTenant("ax");
    pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));  // superuser: seeds, then acts as analytics_app
    {
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        tx.exec(
            "INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, source) "
            "SELECT " +
            t + ", md5(" + t +
            " || 'l' || g)::uuid, v, gen_random_uuid(), now(), 'web' "
            "FROM generate_series(1, 20000) g, generate_series(1, 2) v");
        tx.exec(
            "INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, "
            "status) SELECT " +
            t + ", md5(" + t +
            " || 'o' || g)::uuid, v, gen_random_uuid(), now(), 'OPEN' "
            "FROM generate_series(1, 20000) g, generate_series(1, 3) v");
        tx.exec(
            "INSERT INTO analytics_record_versions (tenant_id, kind, record_id, version, event_id, occurred_at) "
            "SELECT " +
            t + ", 'contact', md5(" + t +
            " || 'r' || g)::uuid, 1, gen_random_uuid(), now() "
            "FROM generate_series(1, 10000) g");
        tx.commit();
    }
    {
        pqxx::nontransaction n(db);
        n.exec("ANALYZE analytics_lead_versions, analytics_opportunity_versions, analytics_record_versions");
    }
    // The cache's point after the seed, then a few new facts (one transaction each, as the consumer writes them).
    std::string since_snapshot, since_xmin;
    {
        pqxx::work tx(db);
        const auto r = tx.exec("SELECT pg_current_snapshot()::text, pg_snapshot_xmin(pg_current_snapshot())::text");
        since_snapshot = r[0][0].as<std::string>();
        since_xmin = r[0][1].as<std::string>();
    }
    for (int i = 1; i <= 5; ++i) {
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        tx.exec(
            "INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, "
            "probability_bp) VALUES (" +
            t + ", md5(" + t + " || 'o' || " + std::to_string(i * 7) + ")::uuid, 10, gen_random_uuid(), now(), 5000)");
        tx.exec(
            "INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, owner_id) "
            "VALUES (" +
            t + ", md5(" + t + " || 'l' || " + std::to_string(i * 11) + ")::uuid, 10, gen_random_uuid(), now(), 'u2')");
        tx.commit();
    }
    std::string at_snapshot, at_xmin;
    {
        pqxx::work tx(db);
        const auto r = tx.exec("SELECT pg_current_snapshot()::text, pg_snapshot_xmin(pg_current_snapshot())::text");
        at_snapshot = r[0][0].as<std::string>();
        at_xmin = r[0][1].as<std::string>();
    }
    pqxx::work quoting(db);
    const std::string t = quoting.quote(tenant);
    const std::string since = since_xmin + ", " + quoting.quote(since_snapshot);
    const std::string changed = since + ", " + at_xmin + ", " + quoting.quote(at_snapshot);
    quoting.abort();

    SECTION("anything new since the cached point: one probe of each (tenant_id, xact_id) index") {
        const QueryPlan p = Explain(db, tenant, sql::kNowSince, t + ", " + since);
        INFO(p.text);
        CHECK_FALSE(ScansFacts(p));
        CHECK(p.Uses("analytics_record_versions_xact"));
        CHECK(p.Uses("analytics_lead_versions_xact"));
        CHECK(p.Uses("analytics_opportunity_versions_xact"));
    }
    SECTION("the changed deals' versions: the new rows by xact_id, their deals by primary key") {
        const QueryPlan p = Explain(db, tenant, sql::kLoadOpportunitiesChanged, t + ", " + changed);
        INFO(p.text);
        CHECK_FALSE(ScansFacts(p));
        CHECK(p.Uses("analytics_opportunity_versions_xact"));
        CHECK(p.Uses("analytics_opportunity_versions_pkey"));
    }
    SECTION("the changed leads' versions, likewise") {
        const QueryPlan p = Explain(db, tenant, sql::kLoadLeadsChanged, t + ", " + changed);
        INFO(p.text);
        CHECK_FALSE(ScansFacts(p));
        CHECK(p.Uses("analytics_lead_versions_xact"));
        CHECK(p.Uses("analytics_lead_versions_pkey"));
    }
    SECTION("no changed contacts: the index range is empty") {
        const QueryPlan p = Explain(db, tenant, sql::kLoadRecordsChanged, t + ", " + changed);
        INFO(p.text);
        CHECK_FALSE(ScansFacts(p));
        CHECK(p.Uses("analytics_record_versions_xact"));
    }
}

TEST_CASE("analytics: the KPI cache's warm-up list is index-backed (EXPLAIN as the app role)",
          "[integration][analytics][cache][explain]") {
    // 5,000 tenants read over two years, a few of them in the last week (the list the warm-up reads).
    const std::string prefix = UniqueTenant("aw");
    pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));
    {
        pqxx::work tx(db);
        tx.exec("INSERT INTO analytics_kpi_cache_tenants (tenant_id, read_at, bytes) SELECT " + tx.quote(prefix) +
                " || '-' || g, now() - g * interval '3 hours', 1000 * g FROM generate_series(1, 5000) g");
        tx.commit();
    }
    pqxx::nontransaction(db).exec("ANALYZE analytics_kpi_cache_tenants");
    const QueryPlan p =
        ExplainAs(db, "analytics_app", prefix + "-1", crm::analytics::cache::sql::kRecentTenants.text, "7, 1000");
    INFO(p.text);
    CHECK_FALSE(p.Has("Seq Scan analytics_kpi_cache_tenants"));
    CHECK(p.Uses("analytics_kpi_cache_tenants_read"));
    pqxx::work tx(db);
    tx.exec("DELETE FROM analytics_kpi_cache_tenants WHERE tenant_id LIKE " + tx.quote(prefix + "-%"));
    tx.commit();
}

// The data-subject exports (subject_data/sql.hpp) find a person's facts by their ids: contact, lead, deal and
// attribution facts by primary key, the deals of their leads by analytics_opportunity_versions_lead and their touches
// by analytics_campaign_touches_person (migration 0040). At 20,000 leads, deals and touches none scans a fact table.
TEST_CASE("analytics: the data-subject exports are index-backed (EXPLAIN as the app role)",
          "[integration][analytics][explain][subject_data]") {
    const std::string tenant = UniqueTenant("ax");
    pqxx::connection db(RequireEnv("CRM_TEST_PG_ANALYTICS_URL"));
    {
        pqxx::work tx(db);
        const std::string t = tx.quote(tenant);
        tx.exec(
            "INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, source) "
            "SELECT " +
            t + ", md5(" + t +
            " || 'l' || g)::uuid, v, gen_random_uuid(), now(), 'web' "
            "FROM generate_series(1, 20000) g, generate_series(1, 2) v");
        // A deal per lead, stating its lead in version 1 only (later versions leave it NULL: not stated).
        tx.exec(
            "INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, "
            "status, amount_minor, currency_code, lead_id) SELECT " +
            t + ", md5(" + t +
            " || 'o' || g)::uuid, v, gen_random_uuid(), now(), 'OPEN', 100 * g, 'EUR', "
            "CASE WHEN v = 1 THEN md5(" +
            t + " || 'l' || g)::uuid::text END FROM generate_series(1, 20000) g, generate_series(1, 3) v");
        tx.exec(
            "INSERT INTO analytics_record_versions (tenant_id, kind, record_id, version, event_id, occurred_at) "
            "SELECT " +
            t + ", 'contact', md5(" + t +
            " || 'c' || g)::uuid, 1, gen_random_uuid(), now() FROM generate_series(1, 20000) g");
        tx.exec(
            "INSERT INTO analytics_campaign_touches (tenant_id, touch_id, campaign_id, person_id, type, touch_time) "
            "SELECT " +
            t + ", gen_random_uuid(), gen_random_uuid(), CASE WHEN g % 2 = 0 THEN md5(" + t +
            " || 'c' || g)::uuid ELSE md5(" + t +
            " || 'l' || g)::uuid END, 'email_clicked', now() "
            "FROM generate_series(1, 20000) g");
        tx.exec(
            "INSERT INTO analytics_campaign_attributions (tenant_id, opportunity_id, version, event_id, occurred_at, "
            "retracted, close_time, currency, amount_minor, shares) SELECT " +
            t + ", md5(" + t +
            " || 'o' || g)::uuid, 1, gen_random_uuid(), now(), false, now(), 'EUR', 100, '[]' "
            "FROM generate_series(1, 20000, 2) g");
        tx.commit();
    }
    pqxx::nontransaction(db).exec(
        "ANALYZE analytics_lead_versions, analytics_opportunity_versions, analytics_record_versions, "
        "analytics_campaign_touches, analytics_campaign_attributions");
    // The person: contact 42 and lead 43 (with its deal, a touch and an attribution).
    pqxx::work quoting(db);
    const pqxx::row ids = quoting.exec1("SELECT md5(" + quoting.quote(tenant) + " || 'c' || 42)::uuid::text, md5(" +
                                        quoting.quote(tenant) + " || 'l' || 43)::uuid::text");
    const std::string t = quoting.quote(tenant);
    const std::string contacts = "'{" + ids[0].as<std::string>() + "}'", leads = "'{" + ids[1].as<std::string>() + "}'";
    quoting.abort();
    namespace dsql = crm::analytics::subject_data::sql;
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        std::vector<const char*> indexes;
    };
    const Case cases[] = {
        {"contact facts", dsql::kExportContacts, t + ", " + contacts, {"analytics_record_versions_pkey"}},
        {"lead facts", dsql::kExportLeads, t + ", " + leads, {"analytics_lead_versions_pkey"}},
        {"deal facts",
         dsql::kExportOpportunities,
         t + ", " + leads,
         {"analytics_opportunity_versions_lead", "analytics_opportunity_versions_pkey"}},
        {"touches", dsql::kExportTouches, t + ", " + contacts + ", " + leads, {"analytics_campaign_touches_person"}},
        {"attributions",
         dsql::kExportAttributions,
         t + ", " + leads,
         {"analytics_opportunity_versions_lead", "analytics_campaign_attributions_pkey"}},
    };
    for (const auto& c : cases) {
        const QueryPlan p = Explain(db, tenant, c.statement, c.args);
        INFO(c.what << " (" << p.ms << " ms): " << p.text);
        CHECK_FALSE(ScansFacts(p));
        CHECK_FALSE(p.Has("Seq Scan analytics_campaign_touches"));
        CHECK_FALSE(p.Has("Seq Scan analytics_campaign_attributions"));
        for (const char* index : c.indexes) CHECK(p.Uses(index));
    }
}
