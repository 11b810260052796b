#pragma once
// The field-service read model in PostgreSQL (migrations/0005_field_kpis.sql). Every function runs in a transaction
// the caller opened for one tenant (Db::InTenant); the SQL filters by tenant_id as well. Include from application
// code only (pqxx).
#include <string>

#include "crm/common/db.hpp"
#include "domain/field_facts.hpp"

namespace crm::analytics::field {

// Inserts the facts; a row whose key exists is left as it is.
void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::FieldFacts& facts);

// What a KPI read over [from, to) needs: the completions in it and every technician version.
domain::FieldFacts LoadFor(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::Micros from,
                           domain::Micros to);

// Every row of the tenant (the rebuild's comparison), and deleting them (the rebuild's swap).
domain::FieldFacts LoadAll(common::Db& db, pqxx::work& tx, const std::string& tenant);
void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant);

}  // namespace crm::analytics::field
