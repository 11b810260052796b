#pragma once
// Idempotent creates (AIP-155): a create carrying a request_id claims (tenant, operation, request_id) in the table
// idempotency_keys (a common migration gives every service's database the same one) inside the transaction that
// creates the resource. A retry with the same request_id finds the claim and returns the resource the first call
// created instead of creating a second one. Two concurrent twins serialise on the claim's primary key: the second
// waits for the first transaction, then either takes over (the first rolled back) or finds its committed claim; if it
// finds neither (the claim was purged in between) it fails with ABORTED reason RETRY, and the client's retry succeeds.
// Claims older than the retention (CRM_IDEMPOTENCY_RETENTION_HOURS) are purged by the bootstrap's hourly job.
// Includes pqxx: only for application code that runs SQL.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/db.hpp"

namespace crm::common {

// nullopt when this call is the first with request_id (or request_id is empty: nothing is claimed); else the id of
// the resource the earlier call created, which the caller loads and returns unchanged.
std::optional<std::string> ClaimRequest(Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                        std::string_view operation, const std::string& request_id,
                                        const std::string& resource_id);

// Deletes claims of every tenant older than `retention` (in its own maintenance transaction); returns the count.
std::int64_t PurgeIdempotencyKeys(Db& db, std::chrono::hours retention);

}  // namespace crm::common
