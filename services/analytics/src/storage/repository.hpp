#pragma once
// The read models in PostgreSQL (migrations/0001_init.sql): fact rows per aggregate version. Every function runs in
// a transaction the caller opened for one tenant (Db::InTenant), so row-level security scopes it; the SQL filters
// by tenant_id as well. Include from storage and wiring code only (pqxx).
#include <string>

#include "crm/common/db.hpp"
#include "domain/facts.hpp"

namespace crm::analytics::storage {

// Inserts the facts; a row whose key (aggregate, version) exists is left as it is, so applying an event twice
// changes nothing.
void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::Facts& facts);

// Every fact of the tenant, in no particular order (the KPI fold and the rebuild comparison sort).
domain::Facts Load(common::Db& db, pqxx::work& tx, const std::string& tenant);

// Deletes every fact of the tenant (the rebuild's swap, inside its transaction).
void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant);

// Coordination between the live consumer and a rebuild of the same tenant, with transaction-scoped advisory locks:
// the consumer's transaction takes the shared lock without waiting (false: a rebuild holds it; retry later), the
// rebuild's transaction takes the exclusive lock, waiting for the consumer's transaction in flight to finish.
bool TryConsumerLock(common::Db& db, pqxx::work& tx, const std::string& tenant);
void RebuildLock(common::Db& db, pqxx::work& tx, const std::string& tenant);

}  // namespace crm::analytics::storage
