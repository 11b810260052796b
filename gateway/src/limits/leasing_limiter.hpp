#pragma once
// A RateLimiter that keeps the shared store (Redis) off the path of most calls, without ever admitting more than the
// limits allow across replicas.
//
// Buckets: when a bucket in the store holds plenty of tokens, this replica takes a lease of `batch` tokens at once
// (one store round trip, all or nothing, the store's own atomic script) and admits calls from it locally; when the
// lease runs low it takes the next one in the background. When the store cannot grant a whole batch (the tenant is
// near its limit), calls go to the store one token each, exactly as without leases. Every admitted call therefore
// spent a token the store handed out: across any number of replicas a tenant never gets more than its rate and burst.
// The error is one-sided: tokens leased by a replica that then gets no more calls are not returned; they expire with
// the lease (`lease_ttl`), so a tenant may be refused while at most `batch` tokens per replica and bucket sit idle. A
// batch is at most 5% of a second's rate and a quarter of the burst (below 2 tokens there is no lease at all: small
// limits stay exact, one round trip per call).
//
// Revocation: a key found not revoked is remembered for `revocation_ttl`; a revocation made by this replica (Mark)
// applies at once, one made by another replica within `revocation_ttl`.
#include <chrono>
#include <memory>

#include "limits/ratelimit.hpp"

namespace crm::gateway {

struct LeaseSettings {
    std::chrono::milliseconds lease_ttl{1000};
    std::chrono::milliseconds revocation_ttl{1000};
    double batch_seconds = 0.05;      // a batch is at most this many seconds of the bucket's rate
    double batch_burst_share = 0.25;  // and at most this share of its burst
    size_t max_entries = 100000;      // buckets and revocation answers remembered (beyond: the oldest dropped)
};

// The batch leased from a bucket with this limit; 0 or 1: no lease, every call asks the store.
int LeaseBatch(const RateLimit& limit, const LeaseSettings& settings);

class LeasingRateLimiter final : public RateLimiter {
  public:
    // `store` answers queries with a cost (LimitQuery::cost): RedisRateLimiter.
    LeasingRateLimiter(std::shared_ptr<RateLimiter> store, LeaseSettings settings);
    ~LeasingRateLimiter() override;
    LeasingRateLimiter(const LeasingRateLimiter&) = delete;
    LeasingRateLimiter& operator=(const LeasingRateLimiter&) = delete;

    LimitDecision Check(const LimitQuery& query) override;
    bool Mark(const std::string& key, std::chrono::seconds ttl) override;

    struct Stats {
        long long local = 0;        // calls admitted from leases, no store round trip
        long long store_calls = 0;  // synchronous store round trips made for calls
        long long leases = 0;       // leases granted (background or not)
    };
    Stats stats() const;

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace crm::gateway
