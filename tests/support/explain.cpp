#include "explain.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace crm::test {
namespace {

void Collect(const nlohmann::json& plan, std::vector<std::string>& nodes, std::vector<std::string>& indexes) {
    nodes.push_back(plan.value("Node Type", "") + " " + plan.value("Relation Name", ""));
    if (plan.contains("Index Name")) indexes.push_back(plan["Index Name"].get<std::string>());
    if (plan.contains("Plans")) {
        for (const auto& child : plan["Plans"]) Collect(child, nodes, indexes);
    }
}

}  // namespace

bool QueryPlan::Has(const std::string& node) const {
    return std::any_of(nodes.begin(), nodes.end(), [&](const std::string& n) { return n.rfind(node, 0) == 0; });
}

bool QueryPlan::Uses(const std::string& index) const {
    return std::find(indexes.begin(), indexes.end(), index) != indexes.end();
}

QueryPlan ExplainAs(pqxx::connection& conn, const std::string& role, const std::string& tenant,
                    const std::string& statement, const std::string& args) {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL ROLE " + tx.quote_name(role));
    tx.exec("SELECT set_config('crm.tenant_id', " + tx.quote(tenant) + ", true), set_config('jit', 'off', true)");
    tx.exec("PREPARE q AS " + statement);
    const auto r = tx.exec("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE q(" + args + ")");
    tx.exec("DEALLOCATE q");
    QueryPlan plan;
    plan.text = r[0][0].as<std::string>();
    const auto json = nlohmann::json::parse(plan.text)[0];
    Collect(json["Plan"], plan.nodes, plan.indexes);
    plan.ms = json.value("Execution Time", 0.0);
    return plan;
}

}  // namespace crm::test
