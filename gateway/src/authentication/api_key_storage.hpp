#pragma once
// The database side of the API key store the admission uses: lookups by key id through api_key_for_auth (the one read
// made before the tenant is known; a SECURITY DEFINER function returning one key id's row, see gateway/migrations)
// and the batched last-use writes, one transaction per tenant. pqxx stays in the .cpp.
#include <memory>

#include "authentication/api_keys.hpp"

namespace crm::common {
class Db;
}

namespace crm::gateway {

// A CachedApiKeyStore over the gateway database; Flush() writes the uses gathered since the last one.
std::shared_ptr<CachedApiKeyStore> MakeApiKeyStore(common::Db& db, ApiKeyCacheSettings settings);

}  // namespace crm::gateway
