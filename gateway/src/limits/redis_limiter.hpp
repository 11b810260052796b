#pragma once
// RateLimiter over Redis (hiredis, synchronous, a small connection pool). Each check is one EVALSHA of a Lua script
// (EVAL when Redis answers NOSCRIPT, e.g. after a restart): it looks up the revoked jti, then refills and takes from
// the token buckets, atomically, with the time taken from Redis (TIME) so that every gateway replica agrees.
//
// Every command is bounded by a short timeout (the proxy calls this from gRPC's callback threads). After a
// connection-level failure the limiter stops trying for a short backoff and answers kUnavailable at once, so a Redis
// that is down or black-holed costs at most one timeout per backoff period, not one per call.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "limits/ratelimit.hpp"

namespace crm::gateway {

struct RedisSettings {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string username;  // ACL user (Redis 6+), with password
    std::string password;
    int database = 0;
    std::chrono::milliseconds timeout{50};   // connect and per-command
    int pool_size = 8;                       // connections kept open; callers beyond it wait up to `timeout`
    std::chrono::milliseconds backoff{500};  // no new connection attempt this long after a failure

    // Fills host, port, username, password and database from "redis://[[user]:password@]host[:port][/db]".
    // Throws std::invalid_argument naming what is wrong (never echoing the password).
    static RedisSettings FromUrl(std::string_view url);
    // "host:port/db" for logs (no credentials).
    std::string Describe() const;
};

class RedisRateLimiter final : public RateLimiter {
  public:
    // Connects lazily: constructing it does no I/O.
    explicit RedisRateLimiter(RedisSettings settings);
    ~RedisRateLimiter() override;
    RedisRateLimiter(const RedisRateLimiter&) = delete;
    RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

    LimitDecision Check(const LimitQuery& query) override;
    bool Mark(const std::string& key, std::chrono::seconds ttl) override;
    // A thread subscribed to kMarksChannel on its own connection (reconnecting after a backoff; on_lost then).
    void WatchMarks(MarkedCallback on_marked, std::function<void()> on_lost) override;

    // The script, for tests and operators (redis-cli EVAL).
    static std::string_view Script();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace crm::gateway
