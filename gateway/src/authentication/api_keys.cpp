#include "authentication/api_keys.hpp"

#include <algorithm>

#include "crm/common/crypto.hpp"

namespace crm::gateway {
namespace {

constexpr std::string_view kPrefix = "crm_";
constexpr size_t kIdHex = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, no padding

bool IsLowerHex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsBase64Url(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

}  // namespace

std::optional<ParsedApiKey> ParseApiKey(std::string_view key) {
    if (key.size() != kPrefix.size() + kIdHex + 1 + kSecretChars || !key.starts_with(kPrefix)) return std::nullopt;
    const std::string_view hex = key.substr(kPrefix.size(), kIdHex);
    if (!IsLowerHex(hex) || key[kPrefix.size() + kIdHex] != '_') return std::nullopt;
    const std::string_view secret = key.substr(kPrefix.size() + kIdHex + 1);
    if (!IsBase64Url(secret)) return std::nullopt;
    ParsedApiKey out;
    out.id = std::string(hex.substr(0, 8)) + "-" + std::string(hex.substr(8, 4)) + "-" +
             std::string(hex.substr(12, 4)) + "-" + std::string(hex.substr(16, 4)) + "-" + std::string(hex.substr(20));
    out.secret = std::string(secret);
    return out;
}

std::string ApiKeySecretHash(std::string_view secret) { return common::Sha256(secret); }

NewApiKey GenerateApiKey() {
    NewApiKey k;
    k.id = common::NewUuid();
    std::string hex = k.id;
    hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
    const std::string secret = common::Base64UrlEncode(common::RandomBytes(32));
    k.key = std::string(kPrefix) + hex + "_" + secret;
    k.secret_sha256 = ApiKeySecretHash(secret);
    return k;
}

std::string ApiKeyPrefix(std::string_view id) { return std::string(kPrefix) + std::string(id.substr(0, 8)); }

std::vector<std::string> SplitRoles(std::string_view stored) {
    std::vector<std::string> out;
    while (!stored.empty()) {
        const size_t comma = stored.find(',');
        const std::string_view role = stored.substr(0, comma);
        if (!role.empty()) out.emplace_back(role);
        if (comma == std::string_view::npos) break;
        stored.remove_prefix(comma + 1);
    }
    return out;
}

std::string JoinRoles(const std::vector<std::string>& roles) {
    std::string out;
    for (const auto& r : roles) out += (out.empty() ? "" : ",") + r;
    return out;
}

std::vector<std::string> ApiKeyRoleProblems(const std::vector<std::string>& roles) {
    std::vector<std::string> problems;
    for (const auto& r : roles) {
        if (r == "admin") {
            problems.push_back("admin cannot be given to an API key");
        } else if (std::find(kKnownRoles.begin(), kKnownRoles.end(), r) == kKnownRoles.end()) {
            problems.push_back("unknown role " + r.substr(0, 64));
        }
    }
    return problems;
}

CachedApiKeyStore::CachedApiKeyStore(ApiKeyCacheSettings settings, Loader loader, UsageWriter writer)
    : settings_(settings), loader_(std::move(loader)), writer_(std::move(writer)) {}

std::optional<ApiKeyRecord> CachedApiKeyStore::Find(const std::string& id) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(id);
        if (it != entries_.end() && now - it->second.loaded < settings_.ttl) return it->second.record;
    }
    // Loaded outside the lock: concurrent first uses of one key may both load it, which is harmless.
    std::optional<ApiKeyRecord> record = loader_(id);  // throws when the database cannot answer: nothing cached
    std::lock_guard lock(mutex_);
    if (entries_.size() >= settings_.max_entries) entries_.clear();
    entries_[id] = Entry{record, now};
    return record;
}

void CachedApiKeyStore::Used(const std::string& tenant_id, const std::string& id) {
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lock(mutex_);
    uses_[{tenant_id, id}] = now;
}

void CachedApiKeyStore::Invalidate(const std::string& id) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
}

size_t CachedApiKeyStore::Flush() {
    std::lock_guard flush(flush_mutex_);
    std::map<std::pair<std::string, std::string>, std::chrono::system_clock::time_point> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(uses_);
    }
    if (batch.empty()) return 0;
    try {
        writer_(batch);
    } catch (...) {
        // Kept for the next flush (a newer use recorded meanwhile wins).
        std::lock_guard lock(mutex_);
        for (auto& [k, t] : batch) uses_.try_emplace(k, t);
        throw;
    }
    return batch.size();
}

size_t CachedApiKeyStore::cached() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace crm::gateway
