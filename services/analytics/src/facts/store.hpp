#pragma once
// The read models in PostgreSQL (migrations/0001_init.sql): fact rows per aggregate version. Every function runs in
// a transaction the caller opened for one tenant (Db::InTenant), so row-level security scopes it; the SQL filters
// by tenant_id as well. Include from application code only (pqxx).
#include <string>

#include "crm/common/db.hpp"
#include "domain/facts.hpp"

namespace crm::analytics::facts {

// Inserts the facts; a row whose key (aggregate, version) exists is left as it is, so applying an event twice
// changes nothing.
void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::Facts& facts);

// Every fact of the tenant, in no particular order (the KPI fold and the rebuild comparison sort).
domain::Facts Load(common::Db& db, pqxx::work& tx, const std::string& tenant);

// Incremental reads (migrations/0003_incremental_reads.sql). A read point is a PostgreSQL snapshot: the facts
// committed before it; with the tenant's generation (bumped by whatever deletes or rewrites its facts) and the fact
// tables' file nodes (changed by TRUNCATE), which must not change between two points for one to follow the other.
struct ReadPoint {
    std::string snapshot;  // pg_snapshot as text: "xmin:xmax:xip,..."
    int64_t xmin = 0;      // every transaction below it had finished when the snapshot was taken
    int64_t generation = 0;
    std::string relations;

    // Facts may have been deleted or rewritten in between: a reader of `earlier` must load again.
    bool Rewritten(const ReadPoint& earlier) const {
        return generation != earlier.generation || relations != earlier.relations;
    }
};

// Which read models have rows visible at a point and not at an earlier one.
struct Changes {
    bool records = false;
    bool leads = false;
    bool opportunities = false;
    bool any() const { return records || leads || opportunities; }
};

// The current point (the snapshot of this statement).
ReadPoint Now(common::Db& db, pqxx::work& tx, const std::string& tenant);
// The current point and what changed since `since`, read in one statement (one snapshot).
std::pair<ReadPoint, Changes> NowSince(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                       const ReadPoint& since);
// Every fact of the tenant visible at `at` (a point taken earlier in the same transaction); with Now() read again
// afterwards and not Rewritten(), exactly the facts of that snapshot.
domain::Facts LoadAt(common::Db& db, pqxx::work& tx, const std::string& tenant, const ReadPoint& at);
// Every version, visible at `at`, of every aggregate that has a version visible at `at` and not at `since`: what
// domain::IncrementalDataset::Apply needs. Only the read models named in `which` are read.
domain::Facts LoadChanged(common::Db& db, pqxx::work& tx, const std::string& tenant, const ReadPoint& since,
                          const ReadPoint& at, const Changes& which);

// Deletes every fact of the tenant (the rebuild's swap, inside its transaction).
void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant);

// Coordination between the live consumer and a rebuild of the same tenant, with transaction-scoped advisory locks:
// the consumer's transaction takes the shared lock without waiting (false: a rebuild holds it; retry later), the
// rebuild's transaction takes the exclusive lock, waiting for the consumer's transaction in flight to finish.
bool TryConsumerLock(common::Db& db, pqxx::work& tx, const std::string& tenant);
void RebuildLock(common::Db& db, pqxx::work& tx, const std::string& tenant);

}  // namespace crm::analytics::facts
