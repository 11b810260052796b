#include "authentication/api_key_storage.hpp"

#include <map>
#include <utility>
#include <vector>

#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/rpc.hpp"

namespace crm::gateway {
namespace {

using common::Sql;

const Sql kFindForAuth{"api_key_for_auth",
                       "SELECT tenant_id, id::text, encode(secret_sha256, 'hex'), array_to_string(roles, ','), "
                       "rate_per_second, burst, revoke_time IS NOT NULL FROM api_key_for_auth($1::uuid)"};
const Sql kTouch{"touch_api_key",
                 "UPDATE api_keys SET last_use_time = greatest(coalesce(last_use_time, '-infinity'), "
                 "to_timestamp($3::bigint / 1000000.0)) WHERE tenant_id = $1 AND id = $2::uuid"};

}  // namespace

std::shared_ptr<CachedApiKeyStore> MakeApiKeyStore(common::Db& db, ApiKeyCacheSettings settings) {
    auto loader = [&db, timeout = settings.lookup_timeout](const std::string& id) -> std::optional<ApiKeyRecord> {
        // On a call's path (a cache miss): bounded well below the services' statement cap. No tenant is set: the
        // function is the only read, and it returns one key id's row.
        common::RequestContext rc;
        rc.deadline = std::chrono::system_clock::now() + timeout;
        return db.InTenant(rc, [&](pqxx::work& tx) -> std::optional<ApiKeyRecord> {
            auto rows = db.Exec(tx, kFindForAuth, id);
            if (rows.empty()) return std::nullopt;
            const auto& row = rows[0];
            ApiKeyRecord r;
            r.tenant_id = row[0].as<std::string>();
            r.id = row[1].as<std::string>();
            r.secret_sha256 = common::HexDecode(row[2].as<std::string>());
            r.roles = SplitRoles(row[3].as<std::string>());
            if (row[5].as<int>() > 0) r.limit = RateLimit{row[4].as<double>(), static_cast<double>(row[5].as<int>())};
            r.revoked = row[6].as<bool>();
            return r;
        });
    };
    auto writer =
        [&db](const std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point>& uses) {
            std::map<std::string, std::vector<std::pair<std::string, long long>>> by_tenant;
            for (const auto& [k, t] : uses) {
                by_tenant[k.first].emplace_back(
                    k.second, std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
            }
            for (const auto& [tenant, list] : by_tenant) {
                db.InTenant(tenant, [&](pqxx::work& tx) {
                    for (const auto& [id, micros] : list) db.Exec(tx, kTouch, tenant, id, micros);
                });
            }
        };
    return std::make_shared<CachedApiKeyStore>(settings, std::move(loader), std::move(writer));
}

}  // namespace crm::gateway
