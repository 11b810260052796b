#include "email/suppressions.hpp"

#include "audience/sealed.hpp"
#include "crm/common/db.hpp"
#include "crm/common/pg_array.hpp"

namespace crm::marketing::email {

const char* const kClearSuppressionsBatch =
    "SELECT address_key FROM suppressions WHERE tenant_id = $1 AND address_key LIKE '%@%' LIMIT 500 FOR UPDATE";

namespace {

using common::Sql;

// clang-format off
constexpr Sql kMaintenanceOn{"marketing_suppressions_index_on", "SELECT set_config('crm.maintenance', 'on', true)"};
// The suppressions_clear partial index (migration 0021) serves both look-ups.
constexpr Sql kTenants{"marketing_suppressions_index_tenants",
    "SELECT DISTINCT tenant_id FROM suppressions WHERE address_key LIKE '%@%' LIMIT 1000"};
constexpr Sql kBatch{"marketing_suppressions_index_batch", kClearSuppressionsBatch};
// $2 the clear addresses, $3 their indexes (parallel text[]).
constexpr Sql kReplace{"marketing_suppressions_index_replace",
    "WITH u AS (SELECT * FROM unnest($2::text[], $3::text[]) AS u(address, key)), "
    "gone AS (DELETE FROM suppressions s USING u WHERE s.tenant_id = $1 AND s.address_key = u.address "
    "RETURNING u.key, s.reason, s.create_time) "
    "INSERT INTO suppressions (tenant_id, address_key, reason, create_time) SELECT $1, key, reason, create_time "
    "FROM gone ON CONFLICT (tenant_id, address_key) DO NOTHING"};
// clang-format on

}  // namespace

std::int64_t IndexSuppressions(common::Db& db) {
    std::int64_t total = 0;
    for (;;) {
        const std::vector<std::string> tenants = db.InTenant(std::string(), [&](pqxx::work& tx) {
            db.Exec(tx, kMaintenanceOn);
            std::vector<std::string> out;
            for (const auto& row : db.Exec(tx, kTenants)) out.push_back(row[0].c_str());
            return out;
        });
        if (tenants.empty()) return total;
        for (const std::string& tenant : tenants) {
            for (;;) {
                const std::int64_t n = db.InTenant(tenant, [&](pqxx::work& tx) {
                    std::vector<std::string> addresses, keys;
                    for (const auto& row : db.Exec(tx, kBatch, tenant)) {
                        addresses.push_back(row[0].c_str());
                        keys.push_back(audience::sealed::EmailIndex(tenant, addresses.back()));
                    }
                    if (!addresses.empty()) {
                        db.Exec(tx, kReplace, tenant, common::PgTextArray(addresses), common::PgTextArray(keys));
                    }
                    return static_cast<std::int64_t>(addresses.size());
                });
                total += n;
                if (n == 0) break;
            }
        }
    }
}

}  // namespace crm::marketing::email
