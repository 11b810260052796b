#pragma once
// EXPLAIN ANALYZE of a service's own SQL as its application role (non-owner, under the FORCEd row-level security
// policy, where only leakproof operators can be index conditions), for tests that a query stays index-backed.
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace crm::test {

struct QueryPlan {
    std::vector<std::string> nodes;    // "<Node Type> <Relation Name>", e.g. "Seq Scan opportunities", depth first
    std::vector<std::string> indexes;  // every index the plan uses
    double ms = 0;                     // execution time
    std::string text;                  // the JSON plan, for failure messages
    // A node type, optionally on one relation ("Seq Scan opportunities"); "Sort" matches any sort.
    bool Has(const std::string& node) const;
    bool Uses(const std::string& index) const;
};

// Prepares `statement` ($1… parameters) and runs EXPLAIN (ANALYZE) of it with `args` (SQL literals, comma
// separated) in a transaction as `role` with crm.tenant_id = `tenant`; rolled back afterwards.
QueryPlan ExplainAs(pqxx::connection& conn, const std::string& role, const std::string& tenant,
                    const std::string& statement, const std::string& args);

}  // namespace crm::test
