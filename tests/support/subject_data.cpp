#include "subject_data.hpp"

#include <algorithm>
#include <pqxx/pqxx>

namespace crm::test {

std::vector<std::string> ColumnsContaining(const std::string& service, const std::string& needle,
                                           const std::vector<std::string>& except) {
    std::string upper;
    for (char c : service) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    const std::string var = "CRM_TEST_PG_" + upper + "_URL";
    pqxx::connection conn(RequireEnv(var.c_str()));
    pqxx::nontransaction tx(conn);
    const auto columns = tx.exec(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type IN "
        "('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea') ORDER BY 1, 2");
    std::vector<std::string> found;
    for (const auto& col : columns) {
        const std::string table = col[0].as<std::string>();
        if (std::find(except.begin(), except.end(), table) != except.end()) continue;
        const std::string column = col[1].as<std::string>();
        const std::string type = col[2].as<std::string>();
        const std::string ref = tx.quote_name(table) + "." + tx.quote_name(column);
        const std::string test = type == "bytea"
                                     ? "position(convert_to(" + tx.quote(needle) + ", 'UTF8') IN " + ref + ") > 0"
                                     : ref + "::text ILIKE " + tx.quote("%" + needle + "%");
        const auto n = tx.exec("SELECT count(*) FROM " + tx.quote_name(table) + " WHERE " + test)[0][0].as<long>();
        if (n > 0) found.push_back(table + "." + column + " (" + std::to_string(n) + ")");
    }
    return found;
}

}  // namespace crm::test
