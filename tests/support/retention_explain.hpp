#pragma once
// The EXPLAIN check every retention rule of a service gets (common/retention.hpp): its count (for a delete and for an
// anonymise policy), a batch deleted and a batch anonymised, as the service's app role under row-level security, with
// a cutoff 680 days back — none may scan one of `tables`, and each must use `index`.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "explain.hpp"

namespace crm::test {

inline void CheckRetentionPlans(pqxx::connection& conn, const std::string& role, const std::string& tenant,
                                const crm::common::Sql& count, const crm::common::Sql& remove,
                                const crm::common::Sql& anonymise, const std::vector<std::string>& tables,
                                const std::string& index) {
    const std::string head = "'" + tenant + "', (extract(epoch FROM now() - interval '680 days') * 1000000)::bigint";
    struct Case {
        const char* what;
        const crm::common::Sql& statement;
        std::string args;
    };
    const Case cases[] = {
        {"count for a delete policy", count, head + ", 'DELETE'"},
        {"count for an anonymise policy", count, head + ", 'ANONYMISE'"},
        {"a batch deleted", remove, head + ", 500"},
        {"a batch anonymised", anonymise, head + ", 500"},
    };
    for (const auto& c : cases) {
        const QueryPlan plan = ExplainAs(conn, role, tenant, c.statement.text, c.args);
        INFO(c.what << " (" << plan.ms << " ms): " << plan.text);
        for (const auto& table : tables) CHECK_FALSE(plan.Has("Seq Scan " + table));
        CHECK(plan.Uses(index));
    }
}

}  // namespace crm::test
