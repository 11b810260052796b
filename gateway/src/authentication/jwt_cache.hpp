#pragma once
// Verified tokens remembered until they expire, so that a client sending the same bearer token on every call pays
// for its signature once (HS256 about 2 us, RS256/ES256 tens of microseconds, plus the JSON parsing). Only tokens
// that verified are kept: a refused token is checked again each time, so garbage cannot fill the cache. A hit checks
// exp and nbf/iat again against the time of the call, with the verifier's leeway, so a cached token expires exactly
// when a fresh verification would refuse it. What a hit does not see: a key removed from an issuer's JWKS after the
// token was verified (the token stays valid until its exp; revoke it by jti to end it sooner).
//
// Thread-safe (16 shards, one mutex each); bounded (capacity entries; a full shard drops its expired entries, then
// everything).
#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "authentication/jwt.hpp"

namespace crm::gateway {

class JwtCache {
  public:
    JwtCache(size_t capacity, std::chrono::seconds leeway);

    // The claims of a token verified before that are still valid at `now`; nothing otherwise.
    std::optional<JwtClaims> Find(std::string_view token, std::chrono::system_clock::time_point now) const;
    void Insert(std::string_view token, const JwtClaims& claims, std::chrono::system_clock::time_point now);

    size_t size() const;

  private:
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, JwtClaims> entries;
    };
    Shard& ShardOf(std::string_view token) const;

    size_t per_shard_;
    std::chrono::seconds leeway_;
    mutable std::array<Shard, 16> shards_;
};

}  // namespace crm::gateway
