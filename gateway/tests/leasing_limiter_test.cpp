// The leasing limiter against an exact in-memory store (the Redis script's semantics: all-or-nothing takes of `cost`
// tokens from every bucket, refilled continuously): never more admitted than the limit, across two replicas sharing
// the store; far fewer store round trips; small limits stay exact; revocation answers are remembered for their ttl.
#include "limits/leasing_limiter.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace std::chrono_literals;
using namespace crm::gateway;

namespace {

class ExactStore final : public RateLimiter {
  public:
    LimitDecision Check(const LimitQuery& q) override {
        std::lock_guard lock(mutex_);
        ++calls_;
        if (down_) return LimitDecision::Unavailable("down");
        if (!q.revoked_key.empty() && revoked_.count(q.revoked_key)) return LimitDecision::Revoked();
        const auto now = std::chrono::steady_clock::now();
        double wait = 0;
        for (const auto& b : q.buckets) {
            auto& [tokens, at] = Refill(b, now);
            if (tokens < q.cost) wait = std::max(wait, (q.cost - tokens) / b.limit.rate_per_second);
        }
        if (wait > 0) return LimitDecision::RateLimited(std::chrono::milliseconds(static_cast<long>(wait * 1000) + 1));
        for (const auto& b : q.buckets) buckets_[b.key].first -= q.cost;
        return {};
    }
    bool Mark(const std::string& key, std::chrono::seconds) override {
        std::lock_guard lock(mutex_);
        revoked_.insert(key);
        return true;
    }
    long calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    void SetDown(bool down) {
        std::lock_guard lock(mutex_);
        down_ = down;
    }

  private:
    std::pair<double, std::chrono::steady_clock::time_point>& Refill(const Bucket& b,
                                                                     std::chrono::steady_clock::time_point now) {
        auto [it, fresh] = buckets_.try_emplace(b.key, b.limit.burst, now);
        auto& [tokens, at] = it->second;
        if (!fresh) {
            tokens = std::min(b.limit.burst,
                              tokens + std::chrono::duration<double>(now - at).count() * b.limit.rate_per_second);
            at = now;
        }
        return it->second;
    }

    std::mutex mutex_;
    std::map<std::string, std::pair<double, std::chrono::steady_clock::time_point>> buckets_;
    std::set<std::string> revoked_;
    long calls_ = 0;
    bool down_ = false;
};

LimitQuery Call(const std::string& tenant, RateLimit limit, std::string jti = {}) {
    LimitQuery q;
    q.revoked_key = std::move(jti);
    q.buckets.push_back({"crm:ratelimit:tenant:" + tenant, limit});
    return q;
}

// Hammers the limiters from `threads` threads each for `duration`; returns the calls admitted.
long Hammer(std::vector<LeasingRateLimiter*> replicas, const LimitQuery& query, int threads,
            std::chrono::milliseconds duration, long* attempts = nullptr) {
    std::atomic<long> admitted{0}, tried{0};
    std::vector<std::thread> workers;
    const auto end = std::chrono::steady_clock::now() + duration;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            LeasingRateLimiter* limiter = replicas[static_cast<size_t>(t) % replicas.size()];
            while (std::chrono::steady_clock::now() < end) {
                ++tried;
                if (limiter->Check(query).verdict == LimitVerdict::kAllowed) ++admitted;
                std::this_thread::sleep_for(50us);
            }
        });
    }
    for (auto& w : workers) w.join();
    if (attempts != nullptr) *attempts = tried;
    return admitted;
}

}  // namespace

TEST_CASE("leasing limiter: a batch is 5% of a second's rate and a quarter of the burst - small limits lease nothing") {
    const LeaseSettings s;
    CHECK(LeaseBatch({1000, 1000}, s) == 50);
    CHECK(LeaseBatch({1000, 100}, s) == 25);
    CHECK(LeaseBatch({50, 100}, s) == 2);
    CHECK(LeaseBatch({20, 100}, s) == 0);
    CHECK(LeaseBatch({1e6, 1e6}, s) == 50000);
    CHECK(LeaseBatch({0.2, 5}, s) == 0);
}

TEST_CASE("leasing limiter: two replicas sharing the store never admit more than rate x time + burst") {
    auto store = std::make_shared<ExactStore>();
    LeasingRateLimiter a(store, {}), b(store, {});
    const RateLimit limit{2000, 400};  // batch 100
    const auto start = std::chrono::steady_clock::now();
    long attempts = 0;
    const long admitted = Hammer({&a, &b}, Call("acme", limit), 4, 1500ms, &attempts);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double allowed = limit.burst + limit.rate_per_second * seconds;
    INFO("admitted " << admitted << " of " << attempts << " in " << seconds << " s; allowed " << allowed
                     << "; store calls " << store->calls());
    REQUIRE(attempts > admitted);  // the limit was reached: the test pressed hard enough
    CHECK(admitted <= allowed + 1);
    // One-sided error: idle leases (at most one batch per replica) cost some admissions, not more.
    CHECK(admitted >= allowed * 0.85 - 2 * LeaseBatch(limit, {}));
}

TEST_CASE("leasing limiter: far from the limit, most calls never reach the store") {
    auto store = std::make_shared<ExactStore>();
    LeasingRateLimiter limiter(store, {});
    const auto query = Call("roomy", {100000, 100000});  // batch 5000
    long admitted = 0;
    for (int i = 0; i < 20000; ++i) {
        admitted += limiter.Check(query).verdict == LimitVerdict::kAllowed;
        std::this_thread::sleep_for(10us);  // calls come over a network, not in a tight loop
    }
    CHECK(admitted == 20000);
    INFO("store calls " << store->calls());
    CHECK(store->calls() < 100);  // a few synchronous calls until the first lease, then one lease per 2,500 calls
    CHECK(limiter.stats().local >= 19900);
}

TEST_CASE("leasing limiter: a small limit leases nothing and stays exact, call by call") {
    auto store = std::make_shared<ExactStore>();
    LeasingRateLimiter limiter(store, {});
    const auto query = Call("small", {0.5, 5});
    int admitted = 0;
    for (int i = 0; i < 20; ++i) admitted += limiter.Check(query).verdict == LimitVerdict::kAllowed;
    CHECK(admitted == 5);
    CHECK(store->calls() == 20);
    CHECK(limiter.stats().leases == 0);
}

TEST_CASE("leasing limiter: revocations, remembered answers and a store that is down") {
    auto store = std::make_shared<ExactStore>();
    LeaseSettings settings;
    settings.revocation_ttl = 300ms;
    LeasingRateLimiter here(store, settings), there(store, settings);
    const auto query = Call("acme", {100000, 100000}, "crm:revoked:jti:j-1");
    REQUIRE(here.Check(query).verdict == LimitVerdict::kAllowed);
    std::this_thread::sleep_for(50ms);  // the background lease lands
    // Revoked through the other replica: this one's answer holds for at most its revocation ttl.
    REQUIRE(there.Mark("crm:revoked:jti:j-1", 60s));
    CHECK(there.Check(query).verdict == LimitVerdict::kRevoked);  // at once where it was revoked
    std::this_thread::sleep_for(350ms);
    CHECK(here.Check(query).verdict == LimitVerdict::kRevoked);

    // A store that is down: the verdict passes through (the admission applies the fail mode); nothing is remembered.
    LeasingRateLimiter fresh(store, settings);
    store->SetDown(true);
    CHECK(fresh.Check(Call("other", {10, 10}, "crm:revoked:jti:j-2")).verdict == LimitVerdict::kUnavailable);
    store->SetDown(false);
    CHECK(fresh.Check(Call("other", {10, 10}, "crm:revoked:jti:j-2")).verdict == LimitVerdict::kAllowed);
}
