#pragma once
// API keys of integrations, the part the admission needs: the key format, the lookup by key id (cached, with a
// short TTL, unknown ids cached too), and the last-use times collected in memory and written in batches. The
// database side is api_key_storage.hpp; the admin RPCs are admin/api_keys_service.hpp. No gRPC or pqxx here.
//
// Key: "crm_" + key id (UUID as 32 lower-case hex) + "_" + secret (32 random bytes, base64url without padding, 43
// characters). Only SHA-256(secret) is stored; the admission compares it in constant time.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/policy.hpp"

namespace crm::gateway {

inline constexpr char kApiKeyHeader[] = "x-api-key";

struct ParsedApiKey {
    std::string id;      // UUID, hyphenated
    std::string secret;  // the 43 base64url characters
};

// Nothing when the text is not of the key's shape.
std::optional<ParsedApiKey> ParseApiKey(std::string_view key);

struct NewApiKey {
    std::string id;             // UUID
    std::string key;            // the full key, shown once
    std::string secret_sha256;  // raw 32 bytes, stored
};
NewApiKey GenerateApiKey();

// SHA-256 of the key's secret part.
std::string ApiKeySecretHash(std::string_view secret);

// The first characters of a key, shown in lists ("crm_" + 8 hex of the id).
std::string ApiKeyPrefix(std::string_view id);

// The roles a key may carry: known roles, admin excluded (a key cannot manage keys). Problems, one per bad role.
std::vector<std::string> ApiKeyRoleProblems(const std::vector<std::string>& roles);

// Roles as the database hands them over (array_to_string(roles, ',')), and back; no empty entries.
std::vector<std::string> SplitRoles(std::string_view stored);
std::string JoinRoles(const std::vector<std::string>& roles);

// What authentication needs to know about a key.
struct ApiKeyRecord {
    std::string tenant_id;
    std::string id;
    std::string secret_sha256;  // raw 32 bytes
    std::vector<std::string> roles;
    std::optional<RateLimit> limit;  // the key's own bucket, when it has one
    bool revoked = false;
};

class ApiKeyStore {
  public:
    virtual ~ApiKeyStore() = default;
    // The key with this id, or nothing. Throws std::runtime_error when the store cannot answer (database down).
    virtual std::optional<ApiKeyRecord> Find(const std::string& id) = 0;
    // Notes a use, for last_use_time; cheap (no I/O).
    virtual void Used(const std::string& tenant_id, const std::string& id) = 0;
    // Drops a cached entry (after a revocation by this replica).
    virtual void Invalidate(const std::string& id) = 0;
};

struct ApiKeyCacheSettings {
    std::chrono::milliseconds ttl{30000};            // bound on how long a replica may use a stale record
    size_t max_entries = 100000;                     // the cache is cleared when it grows past this
    std::chrono::milliseconds lookup_timeout{1000};  // bound on one database lookup (a cache miss)
};

// An ApiKeyStore over a loader (the database), caching records and misses for the TTL and gathering uses. Flush()
// hands the uses gathered since the last flush to the writer (one batch), to be called periodically.
class CachedApiKeyStore final : public ApiKeyStore {
  public:
    using Loader = std::function<std::optional<ApiKeyRecord>(const std::string& id)>;
    // (tenant, id) -> last use; the writer persists them (never on a call's path).
    using UsageWriter = std::function<void(
        const std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point>&)>;

    CachedApiKeyStore(ApiKeyCacheSettings settings, Loader loader, UsageWriter writer);

    std::optional<ApiKeyRecord> Find(const std::string& id) override;
    void Used(const std::string& tenant_id, const std::string& id) override;
    void Invalidate(const std::string& id) override;

    // Writes the gathered uses; on a writer failure they are kept for the next flush. Returns how many were written.
    size_t Flush();

    size_t cached() const;

  private:
    struct Entry {
        std::optional<ApiKeyRecord> record;
        std::chrono::steady_clock::time_point loaded;
    };
    ApiKeyCacheSettings settings_;
    Loader loader_;
    UsageWriter writer_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> entries_;
    std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point> uses_;
    std::mutex flush_mutex_;
};

}  // namespace crm::gateway
