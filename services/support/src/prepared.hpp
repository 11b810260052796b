#pragma once
// A named statement run as a prepared statement of its connection: parsed and planned by PostgreSQL once per pooled
// connection instead of at every call. For the hot reads of the customer view (GetCustomer360), where planning cost
// more than running: the cases' two statements took 2.9 ms per view as unnamed statements (the kit's Db::Exec,
// exec_params) against 0.37 ms prepared (pgbench, one client, README "Round 6"). The kit's Db::Exec has no prepared
// form; this keeps its metric (crm_db_query_duration_seconds{query}).
//
// libpqxx 6 registers a definition on the connection object and prepares it on the server at its first execution
// there; defining it again with the same text is a no-op, so a connection from the pool, new or reused, is always
// right. Prepared statements live in the session, not the transaction (a rollback keeps them).
#include <chrono>
#include <string>
#include <utility>

#include "crm/common/db.hpp"
#include "crm/common/metrics.hpp"

namespace crm::support {

template <class... Args>
pqxx::result ExecPrepared(common::Db& db, pqxx::transaction_base& tx, const common::Sql& sql, Args&&... args) {
    const std::string name = std::string("support_") + sql.name;  // apart from any statement another part prepares
    tx.conn().prepare(name, sql.text);
    const auto start = std::chrono::steady_clock::now();
    pqxx::result r = tx.exec_prepared(name, std::forward<Args>(args)...);
    auto& metrics = db.metrics();
    metrics.db_query_seconds
        .Add({{"service", metrics.service()}, {"query", sql.name}}, common::Metrics::LatencyBuckets())
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return r;
}

}  // namespace crm::support
