// The knowledge base's reads (and the customer view's case reads) stay index-backed at 100,000 published articles in
// one tenant: its own SQL (kb/sql.hpp) EXPLAINed as the application role (non-owner, under the FORCEd row-level
// security policy, where only leakproof operators can be index conditions). Search and suggestions find their
// candidates through the search terms' primary key (equality on the lexeme) and join each live version by its partial
// unique index; a sequential scan of any knowledge-base table fails the test. The execution times are printed.
#include <catch2/catch.hpp>
#include <iostream>
#include <pqxx/pqxx>

#include "../support/explain.hpp"
#include "../support/support_client.hpp"
#include "cases/sql.hpp"
#include "kb/sql.hpp"

using namespace crm::test;
namespace sql = crm::support::kb::sql;

TEST_CASE("kb: search, suggestions and lists are index-backed at 100k articles (EXPLAIN as the app role)",
          "[integration][support][kb][explain]") {
    const std::string tenant = UniqueTenant("kbx");
    SupportClient api(TokenFor(tenant));
    const spv1::Case one = api.MustCreateCase("Invoice w17 shows w301 twice");
    pqxx::connection conn(RequireEnv("CRM_TEST_PG_SUPPORT_URL"));
    {
        pqxx::work tx(conn);
        const std::string t = tx.quote(tenant);
        // Titles of 3 and bodies of 8 words from a vocabulary of ~3000 words ("w<n>"), 4 categories, 2 locales.
        tx.exec(
            "INSERT INTO kb_articles (tenant_id, id, title, body, category, locale, state, published_version, "
            "latest_version, create_time) SELECT " +
            t +
            ", md5('a' || g)::uuid, 'w' || g % 997 || ' w' || g % 1009 || ' w' || g % 1013, "
            "'w' || (g * 31) % 2003 || ' w' || (g * 17) % 3001 || ' w' || (g * 7) % 1999 || ' w' || g % 2999 || "
            "' w' || (g * 3) % 2011 || ' w' || (g * 11) % 2017 || ' w' || (g * 13) % 2027 || ' w' || g % 29, "
            "(ARRAY['billing','account','data','developers'])[1 + g % 4], (ARRAY['en','de'])[1 + g % 2], "
            "(ARRAY['PUBLISHED','DRAFT','IN_REVIEW','ARCHIVED'])[1 + g % 4], 1, 1, now() - g * interval '1 second' "
            "FROM generate_series(1, 100000) g");
        tx.exec(
            "INSERT INTO kb_article_versions (tenant_id, article_id, version_number, title, body, category, locale, "
            "language, search_config, live) SELECT tenant_id, id, 1, title, body, category, locale, locale, "
            "(CASE locale WHEN 'de' THEN 'german' ELSE 'english' END)::regconfig, true FROM kb_articles "
            "WHERE tenant_id = " +
            t);
        tx.exec(
            "INSERT INTO kb_search_terms (tenant_id, language, lexeme, article_id) SELECT v.tenant_id, "
            "v.language, lexeme, v.article_id FROM kb_article_versions v, unnest(tsvector_to_array(v.search)) "
            "lexeme WHERE v.tenant_id = " +
            t);
        // 20,000 more cases with one link each, and 50 links on the case under test.
        tx.exec("INSERT INTO cases (tenant_id, id, number, subject, status, contact_id, create_time) SELECT " + t +
                ", md5('c' || g)::uuid, 1000 + g, 'pv1.Case' || g, "
                "(ARRAY['NEW','OPEN','PENDING_CUSTOMER','ON_HOLD','SOLVED','CLOSED'])[1 + g % 6], "
                "md5('contact' || g % 500)::uuid, now() - g * interval '1 second' FROM generate_series(1, 20000) g");
        tx.exec("INSERT INTO kb_case_links (tenant_id, case_id, article_id, version_number) SELECT " + t +
                ", md5('c' || g)::uuid, md5('a' || g)::uuid, 1 FROM generate_series(1, 20000) g");
        tx.exec("INSERT INTO kb_case_links (tenant_id, case_id, article_id, version_number) SELECT " + t + ", " +
                tx.quote(one.id()) + "::uuid, md5('a' || g)::uuid, 1 FROM generate_series(1, 50) g");
        tx.exec("ANALYZE cases");
        for (const char* table : {"kb_articles", "kb_article_versions", "kb_search_terms", "kb_case_links"}) {
            tx.exec(std::string("ANALYZE ") + table);
        }
        tx.commit();
    }
    const std::string t = "'" + tenant + "'";
    const std::string start = "-62135596800000000, '00000000-0000-0000-0000-000000000000', 51";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
        std::vector<const char*> indexes;
        bool sorts;  // a ranking sorts its matches (top-N); the lists must not sort
    };
    const Case cases[] = {
        {"search: one word",
         sql::kSearch,
         t + ", 'en', 'english', 'w17', NULL, NULL, NULL, 11",
         {"kb_search_terms_pkey", "kb_article_versions_live"},
         true},
        {"search: two words and a category",
         sql::kSearch,
         t + ", 'en', 'english', 'w17 w301', 'billing', NULL, NULL, 11",
         {"kb_search_terms_pkey", "kb_article_versions_live"},
         true},
        {"search: a later page",
         sql::kSearch,
         t + ", 'en', 'english', 'w17 OR w301', NULL, 0.05, '00000000-0000-0000-0000-000000000000', 11",
         {"kb_search_terms_pkey", "kb_article_versions_live"},
         true},
        {"suggestions for a case",
         sql::kSuggest,
         t + ", 'en', 'english', 'Invoice w17 shows w301 twice', 'The w17 invoice w402 again', 6",
         {"kb_search_terms_pkey", "kb_article_versions_live"},
         true},
        {"all articles", sql::kListArticles, t + ", " + start + ", NULL, NULL, NULL", {"kb_articles_create"}, false},
        {"by state", sql::kListArticles, t + ", " + start + ", 'PUBLISHED', NULL, NULL", {"kb_articles_state"}, false},
        {"by locale", sql::kListArticles, t + ", " + start + ", NULL, 'de', NULL", {"kb_articles_locale"}, false},
        {"by category",
         sql::kListArticles,
         t + ", " + start + ", NULL, NULL, 'billing'",
         {"kb_articles_category"},
         false},
        {"customer view: open and latest cases of a contact",
         crm::support::cases::sql::kContactCases,
         t + ", md5('contact7')::uuid, 20, 10",
         {"cases_tenant_contact"},
         true},  // the index finds one contact's cases; with few of them the planner may sort those few
        {"a case's links",
         sql::kListCaseLinks,
         t + ", '" + one.id() + "', 50",
         {"kb_case_links_pkey", "kb_articles_pkey"},
         true},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, "support_app", tenant, c.statement.text, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        std::cout << "kb explain: " << c.what << ": " << plan.ms << " ms\n";
        for (const char* table :
             {"kb_articles", "kb_article_versions", "kb_search_terms", "kb_case_links", "kb_article_feedback"}) {
            CHECK_FALSE(plan.Has(std::string("Seq Scan ") + table));
        }
        for (const char* index : c.indexes) CHECK(plan.Uses(index));
        if (!c.sorts) CHECK_FALSE(plan.Has("Sort"));
    }
}
