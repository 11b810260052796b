#pragma once
// The per-call check that needs shared state: token revocation (by jti) and token-bucket rate limits, answered in one
// round trip to the store (Redis: limits/redis_limiter.hpp). The proxy asks it before starting the backend call; tests
// give the proxy a fake.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/policy.hpp"

namespace crm::gateway {

// Store keys. Revoked token ids are set by operators (deploy/local/stack revoke-token) with a TTL equal to the
// token's remaining lifetime. Buckets are per tenant; API keys will get their own ("crm:ratelimit:key:<id>") and a
// call then draws from both at once.
inline std::string RevokedJtiKey(std::string_view jti) { return "crm:revoked:jti:" + std::string(jti); }
inline std::string TenantBucketKey(std::string_view tenant) { return "crm:ratelimit:tenant:" + std::string(tenant); }
// Revoked API keys are marked by the gateway that revokes them, for as long as other replicas may still hold the key
// in their caches; the database's revoke_time is authoritative after that.
inline std::string RevokedApiKeyKey(std::string_view id) { return "crm:revoked:apikey:" + std::string(id); }
inline std::string ApiKeyBucketKey(std::string_view id) { return "crm:ratelimit:key:" + std::string(id); }
// Calls made with a public token draw from their purpose's bucket of the tenant, not from the tenant's API budget.
inline std::string PublicBucketKey(std::string_view tenant, std::string_view purpose) {
    return "crm:ratelimit:public:" + std::string(purpose) + ":" + std::string(tenant);
}

struct Bucket {
    std::string key;
    RateLimit limit;
};

struct LimitQuery {
    std::string revoked_key;      // empty: the token has no jti, nothing to check
    std::vector<Bucket> buckets;  // a call is admitted only when every bucket has `cost` tokens; it then takes them
    int cost = 1;                 // tokens per bucket: 1 for a call, a batch for a lease (leasing_limiter.hpp)
};

enum class LimitVerdict {
    kAllowed,      // not revoked, and a token was taken from every bucket (or there were none)
    kRateLimited,  // a bucket is empty; nothing was taken
    kRevoked,      // the jti is revoked; nothing was taken
    kUnavailable,  // the store did not answer in time (down, timeout, pool exhausted); see FailMode
};

struct LimitDecision {
    LimitVerdict verdict = LimitVerdict::kAllowed;
    std::chrono::milliseconds retry_after{0};  // kRateLimited: until the emptiest bucket holds a token again
    std::string error;                         // kUnavailable: why, for the log (no secrets)

    static LimitDecision Revoked() { return {LimitVerdict::kRevoked, {}, {}}; }
    static LimitDecision RateLimited(std::chrono::milliseconds retry_after) {
        return {LimitVerdict::kRateLimited, retry_after, {}};
    }
    static LimitDecision Unavailable(std::string error) { return {LimitVerdict::kUnavailable, {}, std::move(error)}; }
};

class RateLimiter {
  public:
    virtual ~RateLimiter() = default;
    // Never throws; bounded by the store's timeout.
    virtual LimitDecision Check(const LimitQuery& query) = 0;
    // Sets a marker (a revocation) that Check's revoked_key sees, for ttl. False when the store did not take it.
    virtual bool Mark(const std::string& key, std::chrono::seconds ttl) = 0;

    // Tells `on_marked` of every marker set from now on, by any replica or operator, as soon as the store hears of
    // it (and `on_lost` whenever such news may have been missed: a broken connection). Stores that cannot watch
    // ignore it; callers then rely on their own expiry.
    using MarkedCallback = std::function<void(const std::string& key)>;
    virtual void WatchMarks(MarkedCallback on_marked, std::function<void()> on_lost) {
        (void)on_marked;
        (void)on_lost;
    }
};

// The channel on which markers are announced (PUBLISH <channel> <key>): by Mark, and by operators' tools
// (deploy/local/stack revoke-token).
inline constexpr char kMarksChannel[] = "crm:revocations";

// What the gateway does with a call when the store is unavailable: serve it (open) or refuse it UNAVAILABLE (closed).
enum class FailMode { kOpen, kClosed };

}  // namespace crm::gateway
