#include "crm/common/paging.hpp"

#include <algorithm>
#include <charconv>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"

namespace crm::common {
namespace {
constexpr int kTokenVersion = 2;
constexpr std::size_t kMacBytes = 16;                    // 128-bit truncated HMAC-SHA256
constexpr std::int64_t kMinMicros = -62135596800000000;  // 0001-01-01T00:00:00Z
constexpr std::int64_t kMaxMicros = 253402300799999999;  // 9999-12-31T23:59:59.999999Z
constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";
constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

std::mutex g_key_mutex;
std::string& Key() {
    static std::string key = RandomBytes(32);
    return key;
}
std::string CurrentKey() {
    std::lock_guard lock(g_key_mutex);
    return Key();
}

std::string Mac(std::string_view tenant, std::string_view scope, std::string_view payload) {
    std::string data;
    data.reserve(tenant.size() + scope.size() + payload.size() + 16);
    data.append("crm-page-token\0", 15).append(tenant).push_back('\0');
    data.append(scope).push_back('\0');
    data.append(payload);
    return HmacSha256(CurrentKey(), data).substr(0, kMacBytes);
}

[[noreturn]] void BadToken(const std::string& why) {
    throw ApiError::InvalidArgument("page_token", why + "; pass the next_page_token of the previous page unchanged");
}
}  // namespace

int ResolvePageSize(long requested, int default_size, int max_size) {
    if (requested < 0) throw ApiError::InvalidArgument("page_size", "must not be negative");
    if (requested == 0) return default_size;
    return static_cast<int>(std::min<long>(requested, max_size));
}

void SetPageTokenKey(std::string_view key) {
    std::lock_guard lock(g_key_mutex);
    Key() = HmacSha256(key, "crm-page-token-key");
}

std::string EncodePageToken(std::string_view tenant, std::string_view scope, const std::vector<std::string>& keys) {
    nlohmann::json doc = nlohmann::json::array({kTokenVersion});
    for (const auto& k : keys) doc.push_back(k);
    const std::string payload = doc.dump();
    return Base64UrlEncode(payload) + "." + Base64UrlEncode(Mac(tenant, scope, payload));
}

std::vector<std::string> DecodePageToken(std::string_view token, std::string_view tenant, std::string_view scope,
                                         std::size_t expected_keys) {
    if (token.empty()) return {};
    if (token.size() > 2048) BadToken("page token is too long");
    const std::size_t dot = token.find('.');
    if (dot == std::string_view::npos) BadToken("malformed page token");
    std::string payload;
    std::string mac;
    try {
        payload = Base64UrlDecode(token.substr(0, dot));
        mac = Base64UrlDecode(token.substr(dot + 1));
    } catch (const std::exception&) {
        BadToken("malformed page token");
    }
    if (!ConstantTimeEquals(mac, Mac(tenant, scope, payload))) {
        BadToken("page token was altered or belongs to another query (filters or order changed) or caller");
    }
    nlohmann::json doc = nlohmann::json::parse(payload, nullptr, false);
    if (doc.is_discarded() || !doc.is_array() || doc.size() != expected_keys + 1 || !doc[0].is_number_integer() ||
        doc[0] != kTokenVersion) {
        BadToken("malformed page token");
    }
    std::vector<std::string> keys;
    for (std::size_t i = 1; i < doc.size(); ++i) {
        if (!doc[i].is_string()) BadToken("malformed page token");
        keys.push_back(doc[i].get<std::string>());
    }
    return keys;
}

TimeIdKey DecodeTimeIdToken(std::string_view token, std::string_view tenant, std::string_view scope, SortOrder order) {
    const std::vector<std::string> keys = DecodePageToken(token, tenant, scope, 2);
    if (keys.empty()) {
        return order == SortOrder::kAscending ? TimeIdKey{kMinMicros, kNilUuid} : TimeIdKey{kMaxMicros, kMaxUuid};
    }
    std::int64_t micros = 0;
    const auto [end, error] = std::from_chars(keys[0].data(), keys[0].data() + keys[0].size(), micros);
    if (error != std::errc() || end != keys[0].data() + keys[0].size() || !IsUuid(keys[1])) {
        BadToken("malformed page token");
    }
    return {micros, keys[1]};
}

std::string EncodeTimeIdToken(std::string_view tenant, std::string_view scope, const TimeIdKey& key) {
    return EncodePageToken(tenant, scope, {std::to_string(key.micros), key.id});
}

namespace {

void CheckUpdateMask(Violations& v, const std::vector<std::string>& paths, const std::vector<std::string>& allowed,
                     bool allow_empty) {
    if (paths.empty() && !allow_empty) v.Add("update_mask", "must name at least one field to update");
    std::set<std::string> seen;
    for (const auto& p : paths) {
        if (std::find(allowed.begin(), allowed.end(), p) == allowed.end()) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            v.Add("update_mask", "unknown or read-only path '" + p + "'; allowed: " + list);
        } else if (!seen.insert(p).second) {
            v.Add("update_mask", "path '" + p + "' given twice");
        }
    }
}

}  // namespace

void ValidateUpdateMask(const std::vector<std::string>& paths, const std::vector<std::string>& allowed,
                        bool allow_empty) {
    Violations v;
    CheckUpdateMask(v, paths, allowed, allow_empty);
    v.ThrowIfAny();
}

std::vector<std::string> ResolveUpdatePaths(Violations& violations, const std::vector<std::string>& mask_paths,
                                            const std::vector<std::string>& allowed,
                                            const std::function<bool(const std::string&)>& is_set) {
    if (mask_paths.size() == 1 && mask_paths[0] == "*") return allowed;
    if (!mask_paths.empty()) {
        Violations mask;
        CheckUpdateMask(mask, mask_paths, allowed, false);
        if (!mask.empty()) {
            violations.Append(mask);
            return {};
        }
        return mask_paths;
    }
    std::vector<std::string> out;
    for (const auto& p : allowed) {
        if (is_set(p)) out.push_back(p);
    }
    if (out.empty()) violations.Add("update_mask", "nothing to update: name the fields to change");
    return out;
}

}  // namespace crm::common
