#include "limits/leasing_limiter.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace crm::gateway {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

int LeaseBatch(const RateLimit& limit, const LeaseSettings& settings) {
    const double by_rate = std::floor(limit.rate_per_second * settings.batch_seconds);
    const double by_burst = std::floor(limit.burst * settings.batch_burst_share);
    const double batch = std::min(by_rate, by_burst);
    return batch < 2 ? 0 : static_cast<int>(std::min(batch, 1e6));
}

struct LeasingRateLimiter::State {
    struct Lease {
        int tokens = 0;
        Clock::time_point expires{};
        RateLimit limit;
        bool refilling = false;
    };
    struct Revocation {
        bool revoked = false;
        Clock::time_point expires{};
    };

    std::shared_ptr<RateLimiter> store;
    LeaseSettings settings;

    std::mutex mutex;
    std::unordered_map<std::string, Lease> leases;
    std::unordered_map<std::string, Revocation> revocations;
    std::deque<Bucket> refills;
    std::condition_variable wake;
    bool stopping = false;
    std::thread worker;

    std::atomic<long long> local{0}, store_calls{0}, leases_granted{0};

    // Keeps the maps bounded: expired entries go first, everything if that is not enough.
    template <class Map>
    void Trim(Map& map, Clock::time_point now) {
        if (map.size() < settings.max_entries) return;
        std::erase_if(map, [&](const auto& kv) { return kv.second.expires <= now; });
        if (map.size() >= settings.max_entries) map.clear();
    }

    // With the mutex held: asks the worker for a lease of `bucket` unless one is on its way.
    void Schedule(const Bucket& bucket, Lease& lease) {
        if (lease.refilling || LeaseBatch(bucket.limit, settings) < 2) return;
        lease.refilling = true;
        refills.push_back(bucket);
        wake.notify_one();
    }

    void Run() {
        std::unique_lock lock(mutex);
        while (true) {
            wake.wait(lock, [&] { return stopping || !refills.empty(); });
            if (stopping) return;
            Bucket bucket = std::move(refills.front());
            refills.pop_front();
            const int batch = LeaseBatch(bucket.limit, settings);
            lock.unlock();
            LimitQuery query;
            query.buckets.push_back(bucket);
            query.cost = batch;
            const LimitDecision decision = store->Check(query);
            lock.lock();
            const auto now = Clock::now();
            Trim(leases, now);
            Lease& lease = leases[bucket.key];
            lease.refilling = false;
            if (decision.verdict != LimitVerdict::kAllowed) continue;  // near the limit: calls ask the store
            if (lease.expires <= now || !(lease.limit == bucket.limit)) lease.tokens = 0;
            lease.tokens += batch;
            lease.limit = bucket.limit;
            lease.expires = now + settings.lease_ttl;
            ++leases_granted;
        }
    }
};

LeasingRateLimiter::LeasingRateLimiter(std::shared_ptr<RateLimiter> store, LeaseSettings settings)
    : state_(std::make_shared<State>()) {
    state_->store = std::move(store);
    state_->settings = settings;
    state_->worker = std::thread([s = state_.get()] { s->Run(); });
    // Revocations announced by any replica or operator apply here as soon as they are heard of; when news may have
    // been missed, every remembered "not revoked" is forgotten.
    std::weak_ptr<State> weak = state_;
    state_->store->WatchMarks(
        [weak](const std::string& key) {
            if (auto s = weak.lock()) {
                std::lock_guard lock(s->mutex);
                s->revocations[key] = {true, Clock::now() + std::chrono::hours(1)};
            }
        },
        [weak] {
            if (auto s = weak.lock()) {
                std::lock_guard lock(s->mutex);
                std::erase_if(s->revocations, [](const auto& kv) { return !kv.second.revoked; });
            }
        });
}

LeasingRateLimiter::~LeasingRateLimiter() {
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->wake.notify_all();
    state_->worker.join();
}

LimitDecision LeasingRateLimiter::Check(const LimitQuery& query) {
    State& s = *state_;
    const auto now = Clock::now();
    bool ask_revocation = false;
    {
        std::lock_guard lock(s.mutex);
        if (!query.revoked_key.empty()) {
            const auto it = s.revocations.find(query.revoked_key);
            if (it != s.revocations.end() && it->second.expires > now) {
                if (it->second.revoked) return LimitDecision::Revoked();
            } else {
                ask_revocation = true;
            }
        }
        if (!ask_revocation) {
            bool leased = true;
            for (const auto& b : query.buckets) {
                const auto it = s.leases.find(b.key);
                if (it == s.leases.end() || it->second.tokens < 1 || it->second.expires <= now ||
                    !(it->second.limit == b.limit)) {
                    leased = false;
                    break;
                }
            }
            if (leased) {
                for (const auto& b : query.buckets) {
                    State::Lease& lease = s.leases[b.key];
                    --lease.tokens;
                    if (lease.tokens * 2 <= LeaseBatch(b.limit, s.settings)) s.Schedule(b, lease);
                }
                ++s.local;
                return {};
            }
        }
    }

    LimitQuery exact = query;
    exact.cost = 1;
    if (!ask_revocation) exact.revoked_key.clear();
    if (exact.revoked_key.empty() && exact.buckets.empty()) return {};
    const LimitDecision decision = s.store->Check(exact);
    ++s.store_calls;
    std::lock_guard lock(s.mutex);
    const auto after = Clock::now();
    if (ask_revocation && decision.verdict != LimitVerdict::kUnavailable) {
        s.Trim(s.revocations, after);
        s.revocations[query.revoked_key] = {decision.verdict == LimitVerdict::kRevoked,
                                            after + s.settings.revocation_ttl};
    }
    if (decision.verdict == LimitVerdict::kAllowed) {
        // Room in the store: the next calls may come from a lease.
        s.Trim(s.leases, after);
        for (const auto& b : query.buckets) {
            State::Lease& lease = s.leases[b.key];
            if (lease.tokens < 1 || lease.expires <= after) s.Schedule(b, lease);
        }
    }
    return decision;
}

bool LeasingRateLimiter::Mark(const std::string& key, std::chrono::seconds ttl) {
    const bool stored = state_->store->Mark(key, ttl);
    std::lock_guard lock(state_->mutex);
    state_->revocations[key] = {true, Clock::now() + std::max<Clock::duration>(ttl, state_->settings.revocation_ttl)};
    return stored;
}

LeasingRateLimiter::Stats LeasingRateLimiter::stats() const {
    return {state_->local.load(), state_->store_calls.load(), state_->leases_granted.load()};
}

}  // namespace crm::gateway
