// CreateContact's lookups stay bounded at 100,000 contacts in one tenant whose names resemble each other as real
// tenants' do (one surname on 10%, one given name on 25%, switchboard phones shared by hundreds): the queries inside
// contacts_create and contacts_duplicate_candidates (migration 0004), read from the database as deployed, are
// EXPLAINed as the application role (non-owner, under the FORCEd row-level security policy, where only leakproof
// operators can be index conditions). A sequential scan, or more index entries read than the blocking design allows
// (20 per name key, 20 per exact email or phone), fails the test. E-mail and phone are stored sealed and looked up by
// their blind indexes (migration 0050): the rows here carry stand-ins of the same shape (sha256 hex indexes).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>

#include "../../services/contacts/src/people/sealed.hpp"
#include "../support/explain.hpp"
#include "../support/harness.hpp"

using namespace crm::test;

namespace {

// The body of a plpgsql function's statement, with its parameters as $1..: the query as the function runs it.
// Replacements start with '$' ("$1", "$5::uuid").
std::string FunctionQuery(pqxx::connection& conn, const std::string& function, const std::regex& statement,
                          const std::vector<std::pair<std::string, std::string>>& params) {
    pqxx::work tx(conn);
    const std::string source =
        tx.exec_params1("SELECT prosrc FROM pg_proc WHERE proname = $1", function)[0].as<std::string>();
    std::smatch m;
    REQUIRE(std::regex_search(source, m, statement));
    std::string query = m[1].str();
    for (const auto& [name, replacement] : params)
        query = std::regex_replace(query, std::regex("\\b" + name + "\\b"), "$$" + replacement.substr(1));
    return query;
}

// Index entries read by the plan's scans of `index` (rows times loops).
double RowsFrom(const nlohmann::json& node, const std::string& index) {
    double rows = 0;
    if (node.value("Index Name", "") == index) rows += node.value("Actual Rows", 0.0) * node.value("Actual Loops", 1.0);
    if (node.contains("Plans")) {
        for (const auto& child : node["Plans"]) rows += RowsFrom(child, index);
    }
    return rows;
}

// Sequential scans that ran (a branch cut off by a one-time filter, e.g. no phone given, shows one never executed).
int ExecutedSeqScans(const nlohmann::json& node) {
    int scans = node.value("Node Type", "") == "Seq Scan" && node.value("Actual Loops", 0.0) > 0 ? 1 : 0;
    if (node.contains("Plans")) {
        for (const auto& child : node["Plans"]) scans += ExecutedSeqScans(child);
    }
    return scans;
}

}  // namespace

TEST_CASE(
    "contacts: the create path's lookups are index-backed and bounded at 100k similar names (EXPLAIN as the "
    "app role)",
    "[integration][contacts][explain]") {
    const std::string tenant = UniqueTenant("cx");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
    {
        pqxx::work tx(conn);
        // As the superuser (no row-level security); the lookup trigger writes the name keys as for any insert.
        tx.exec(
            "INSERT INTO contacts (tenant_id, id, given_name, family_name, email, phone, given_name_normalized, "
            "family_name_normalized, full_name_normalized, email_index, phone_index) "
            "SELECT " +
            tx.quote(tenant) +
            ", gen_random_uuid(), g, f, 'pv1.' || md5('p' || i), CASE WHEN ph = '' THEN '' ELSE 'pv1.' || md5(ph) END, "
            "g, f, g || ' ' || f, encode(sha256(convert_to('p' || i || '@x.example', 'UTF8')), 'hex'), "
            "CASE WHEN ph = '' THEN '' ELSE encode(sha256(convert_to(ph, 'UTF8')), 'hex') END "
            "FROM generate_series(1, 100000) AS i, "
            "LATERAL (SELECT CASE WHEN i % 4 = 0 THEN 'james' ELSE (ARRAY['mary', 'john', 'linda', 'robert', "
            "'susan', 'david', 'karen', 'paul'])[1 + i % 8] || (i % 300) END AS g, "
            "CASE WHEN i % 10 = 0 THEN 'smith' ELSE 'fam' || (i % 20000) END AS f, "
            "CASE WHEN i % 3 = 0 THEN '+1415555' || lpad((i % 200)::text, 4, '0') ELSE '' END AS ph) AS v");
        tx.exec("ANALYZE contacts");
        tx.exec("ANALYZE contact_name_keys");
        tx.commit();
    }
    const std::string candidates =
        FunctionQuery(conn, "contacts_duplicate_candidates", std::regex(R"(RETURN QUERY\s+([\s\S]*?);\s*END)"),
                      {{"p_tenant", "$1"},
                       {"p_email_index", "$2"},
                       {"p_phone_index", "$3"},
                       {"p_name", "$4"},
                       {"p_company", "$5::uuid"},
                       {"p_exclude", "$6::uuid"}});
    const std::string by_email =
        "SELECT m.id" + FunctionQuery(conn, "contacts_create",
                                      std::regex(R"(SELECT m\.id INTO found_id( FROM contacts m[\s\S]*?LIMIT 1);)"),
                                      {{"p_tenant", "$1"}, {"p_email_index", "$2"}});
    const std::string t = "'" + tenant + "'";
    // The stand-in blind index of a value.
    const auto ix = [](const std::string& value) {
        return "encode(sha256(convert_to('" + value + "', 'UTF8')), 'hex')";
    };
    struct Case {
        const char* what;
        std::string args;
        std::vector<std::string> indexes;
    };
    const Case cases[] = {
        {"the commonest name (2,500 'james smith') and a phone shared by 167",
         t + ", " + ix("nobody@x.example") + ", " + ix("+14155550007") + ", 'james smith', NULL, NULL",
         {"contact_name_keys_lookup", "contacts_phone_index", "contacts_email_index"}},
        {"a rare name, no phone",
         t + ", " + ix("p99@x.example") + ", '', 'linda77 fam19977', NULL, NULL",
         {"contact_name_keys_lookup", "contacts_email_index"}},
        {"a common name at a company",
         t + ", '', '', 'james smith', gen_random_uuid(), NULL",
         {"contact_name_keys_lookup"}},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, "contacts_app", tenant, "SELECT * FROM (" + candidates + ") q", c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        const auto root = nlohmann::json::parse(plan.text)[0]["Plan"];
        CHECK(ExecutedSeqScans(root) == 0);
        // The e-mail's blind index has two indexes led by (tenant_id, email_index): the active contacts' one and the
        // data-subject lookups' one (any state). The planner may read either (it chose the second on a long-lived
        // database); both are exact look-ups.
        for (const auto& index : c.indexes) {
            INFO(index);
            CHECK((plan.Uses(index) || (index == "contacts_email_index" && plan.Uses("contacts_subject_email_index"))));
        }
        // At most 12 name keys for these names (1 to 3, plus a company's), 20 entries each; 20 per exact match.
        CHECK(RowsFrom(root, "contact_name_keys_lookup") <= 12 * 20);
        CHECK(RowsFrom(root, "contacts_phone_index") <= 20);
        CHECK(RowsFrom(root, "contacts_email_index") + RowsFrom(root, "contacts_subject_email_index") <= 20);
    }
    const QueryPlan email = ExplainAs(conn, "contacts_app", tenant, by_email, t + ", " + ix("p99@x.example"));
    INFO("the duplicate-email check (" << email.ms << " ms): " << email.text);
    CHECK_FALSE(email.Has("Seq Scan"));
    CHECK((email.Uses("contacts_email_index") || email.Uses("contacts_subject_email_index")));
    // The backfill of rows written before encryption at rest reads them through the partial index of such rows.
    const QueryPlan backfill = ExplainAs(conn, "contacts_app", tenant,
                                         crm::common::SealedBatchQuery(crm::contacts::people::SealedContacts()), t);
    INFO("the backfill's batch (" << backfill.ms << " ms): " << backfill.text);
    CHECK_FALSE(backfill.Has("Seq Scan"));
    CHECK(backfill.Uses("contacts_unsealed"));
}

TEST_CASE("contacts: CreateCompany's duplicate look-ups in companies_create are index-backed (EXPLAIN as the app role)",
          "[integration][contacts][explain]") {
    const std::string tenant = UniqueTenant("cy");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_CONTACTS_URL"));
    {
        pqxx::work tx(conn);
        // As the superuser: 20,000 companies, half with a domain, a tenth of them deleted.
        tx.exec("INSERT INTO companies (tenant_id, id, name, domain, delete_time) SELECT " + tx.quote(tenant) +
                ", gen_random_uuid(), 'Company ' || i, CASE WHEN i % 2 = 0 THEN 'c' || i || '.example' ELSE '' END, "
                "CASE WHEN i % 10 = 0 THEN now() END FROM generate_series(1, 20000) AS i");
        tx.exec("ANALYZE companies");
        tx.commit();
    }
    const std::string by_domain =
        "SELECT co.id" +
        FunctionQuery(conn, "companies_create",
                      std::regex(R"(SELECT co\.id INTO found_id( FROM companies co[^;]*?co\.domain = p_domain[^;]*);)"),
                      {{"p_tenant", "$1"}, {"p_domain", "$2"}});
    const std::string by_name =
        "SELECT co.id" +
        FunctionQuery(conn, "companies_create",
                      std::regex(R"(SELECT co\.id INTO found_id( FROM companies co[^;]*?lower\(p_name\)[^;]*);)"),
                      {{"p_tenant", "$1"}, {"p_name", "$2"}});
    const std::string t = "'" + tenant + "'";
    // The stand-in blind index of a value.
    const auto ix = [](const std::string& value) {
        return "encode(sha256(convert_to('" + value + "', 'UTF8')), 'hex')";
    };
    const QueryPlan domain = ExplainAs(conn, "contacts_app", tenant, by_domain, t + ", 'c42.example'");
    INFO("by domain (" << domain.ms << " ms): " << domain.text);
    CHECK_FALSE(domain.Has("Seq Scan"));
    CHECK(domain.Uses("companies_tenant_domain"));
    const QueryPlan name = ExplainAs(conn, "contacts_app", tenant, by_name, t + ", 'company 43'");
    INFO("by name (" << name.ms << " ms): " << name.text);
    CHECK_FALSE(name.Has("Seq Scan"));
    CHECK(name.Uses("companies_tenant_name_key"));
}
