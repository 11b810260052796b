#pragma once
// The support read model in PostgreSQL (migrations/0004_support_kpis.sql). Every function runs in a transaction the
// caller opened for one tenant (Db::InTenant); the SQL filters by tenant_id as well. Include from application code
// only (pqxx).
#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "domain/support_facts.hpp"

namespace crm::analytics::support {

// Inserts the facts (a row whose key exists is left as it is) and widens each case's span.
void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::SupportFacts& facts);

// What a KPI read over [from, to) needs: every version of the cases whose span meets it, and the CSAT answers in it.
domain::SupportFacts LoadFor(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::Micros from,
                             domain::Micros to, domain::Micros csat_from, domain::Micros csat_to);

// A case's span as stored (the rebuild compares it too).
struct CaseSpan {
    std::string case_id;
    domain::Micros created_at = 0;
    int64_t last_version = 0;
    std::optional<domain::Micros> final_at;  // nullopt: open
    bool operator==(const CaseSpan&) const = default;
};

struct TenantRows {
    domain::SupportFacts facts;
    std::vector<CaseSpan> spans;
};

// Every row of the tenant (the rebuild's comparison), and deleting them (the rebuild's swap).
TenantRows LoadAll(common::Db& db, pqxx::work& tx, const std::string& tenant);
void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant);

}  // namespace crm::analytics::support
