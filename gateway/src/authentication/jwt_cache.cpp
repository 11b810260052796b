#include "authentication/jwt_cache.hpp"

#include <algorithm>
#include <functional>

namespace crm::gateway {
namespace {

std::int64_t Seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool ValidAt(const JwtClaims& claims, std::int64_t now_s, std::int64_t leeway) {
    return claims.expires_at > now_s - leeway && claims.not_before <= now_s + leeway;
}

}  // namespace

JwtCache::JwtCache(size_t capacity, std::chrono::seconds leeway)
    : per_shard_(std::max<size_t>(1, capacity / 16)), leeway_(leeway) {}

JwtCache::Shard& JwtCache::ShardOf(std::string_view token) const {
    return shards_[std::hash<std::string_view>{}(token) % shards_.size()];
}

std::optional<JwtClaims> JwtCache::Find(std::string_view token, std::chrono::system_clock::time_point now) const {
    Shard& shard = ShardOf(token);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(std::string(token));
    if (it == shard.entries.end() || !ValidAt(it->second, Seconds(now), leeway_.count())) return std::nullopt;
    return it->second;
}

void JwtCache::Insert(std::string_view token, const JwtClaims& claims, std::chrono::system_clock::time_point now) {
    Shard& shard = ShardOf(token);
    std::lock_guard lock(shard.mutex);
    if (shard.entries.size() >= per_shard_) {
        const std::int64_t now_s = Seconds(now);
        std::erase_if(shard.entries, [&](const auto& kv) { return !ValidAt(kv.second, now_s, leeway_.count()); });
        if (shard.entries.size() >= per_shard_) shard.entries.clear();
    }
    shard.entries.insert_or_assign(std::string(token), claims);
}

size_t JwtCache::size() const {
    size_t n = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        n += shard.entries.size();
    }
    return n;
}

}  // namespace crm::gateway
