#include "subject_data.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <pqxx/pqxx>

#include "wait.hpp"

namespace crm::test {

std::vector<std::string> ColumnsContaining(const std::string& service, const std::vector<std::string>& needles,
                                           const std::vector<std::string>& except, const std::string& tenant) {
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
    // One scan per table: a count per (column, needle).
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> tables;  // table -> (column, type)
    std::map<std::string, bool> has_tenant;
    for (const auto& r : tx.exec("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                                 "AND column_name = 'tenant_id'")) {
        has_tenant[r[0].as<std::string>()] = true;
    }
    for (const auto& col : columns) {
        const std::string table = col[0].as<std::string>();
        if (std::find(except.begin(), except.end(), table) != except.end()) continue;
        tables[table].emplace_back(col[1].as<std::string>(), col[2].as<std::string>());
    }
    std::vector<std::string> found;
    for (const auto& [table, cols] : tables) {
        std::string select;
        std::vector<std::string> labels;
        for (const auto& [column, type] : cols) {
            const std::string ref = tx.quote_name(column);
            for (const auto& needle : needles) {
                const std::string test =
                    type == "bytea" ? "position(convert_to(" + tx.quote(needle) + ", 'UTF8') IN " + ref + ") > 0"
                                    : ref + "::text ILIKE " + tx.quote("%" + needle + "%");
                select += (select.empty() ? "" : ", ") + std::string("count(*) FILTER (WHERE ") + test + ")";
                labels.push_back(table + "." + column + (needles.size() > 1 ? " holds " + needle : std::string()));
            }
        }
        const std::string where =
            !tenant.empty() && has_tenant.count(table) ? " WHERE tenant_id = " + tx.quote(tenant) : std::string();
        const auto row = tx.exec("SELECT " + select + " FROM " + tx.quote_name(table) + where)[0];
        for (std::size_t i = 0; i < labels.size(); ++i) {
            const long n = row[static_cast<int>(i)].as<long>();
            if (n > 0) found.push_back(labels[i] + " (" + std::to_string(n) + ")");
        }
    }
    return found;
}

pv1::EraseSubjectResponse MustErase(SubjectDataClient& api, const pv1::Subject& subject, const std::string& id) {
    pv1::EraseSubjectRequest req;
    req.set_request_id(id);
    *req.mutable_subject() = subject;
    pv1::EraseSubjectResponse resp;
    grpc::Status status;
    REQUIRE(Eventually([&] {
        resp.Clear();
        status = api.EraseSubject(req, &resp);
        return status.error_code() != grpc::StatusCode::UNAVAILABLE;
    }));
    INFO(status.error_message());
    REQUIRE(status.ok());
    return resp;
}

nlohmann::json Records(const pv1::ExportSubjectResponse& r, const std::string& type) {
    for (const auto& rec : r.records()) {
        if (rec.resource_type() == type) {
            auto json = nlohmann::json::parse(rec.json());
            REQUIRE(json.is_array());
            REQUIRE(static_cast<long>(json.size()) == rec.count());
            return json;
        }
    }
    FAIL("no records of type " << type);
    return {};
}

std::vector<std::string> ColumnsContaining(const std::string& service, const std::string& needle,
                                           const std::vector<std::string>& except) {
    return ColumnsContaining(service, std::vector<std::string>{needle}, except, "");
}

}  // namespace crm::test
