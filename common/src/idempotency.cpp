#include "crm/common/idempotency.hpp"

#include "crm/common/errors.hpp"

namespace crm::common {
namespace {

// A concurrent twin blocks on the primary key until the first transaction ends; then it either inserts (the first
// rolled back) or does nothing (the first committed) and reads the committed claim in its next statement.
constexpr Sql kClaimRequest{"claim_request",
                            "INSERT INTO idempotency_keys (tenant_id, operation, request_id, resource_id) "
                            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1"};
constexpr Sql kClaimedResource{"claimed_resource",
                               "SELECT resource_id::text FROM idempotency_keys "
                               "WHERE tenant_id = $1 AND operation = $2 AND request_id = $3"};
// Upkeep across tenants: crm.maintenance = 'on' opens the table's maintenance policies for this transaction only.
constexpr Sql kMaintenanceOn{"idempotency_maintenance_on", "SELECT set_config('crm.maintenance', 'on', true)"};
constexpr Sql kPurgeIdempotencyKeys{
    "purge_idempotency_keys",
    "DELETE FROM idempotency_keys WHERE create_time < now() - make_interval(hours => $1::int)"};

}  // namespace

std::optional<std::string> ClaimRequest(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                        std::string_view operation, const std::string& request_id,
                                        const std::string& resource_id) {
    if (request_id.empty()) return std::nullopt;
    const std::string op(operation);
    if (!db.Exec(tx, kClaimRequest, tenant, op, request_id, resource_id).empty()) return std::nullopt;
    const pqxx::result earlier = db.Exec(tx, kClaimedResource, tenant, op, request_id);
    if (earlier.empty()) {
        throw ApiError::Aborted("a concurrent call with the same request_id did not finish; retry", "RETRY");
    }
    return earlier[0][0].as<std::string>();
}

std::int64_t PurgeIdempotencyKeys(Db& db, std::chrono::hours retention) {
    return db.InTenant(std::string(), [&](pqxx::work& tx) {
        db.Exec(tx, kMaintenanceOn);
        return static_cast<std::int64_t>(
            db.Exec(tx, kPurgeIdempotencyKeys, static_cast<int>(retention.count())).affected_rows());
    });
}

}  // namespace crm::common
