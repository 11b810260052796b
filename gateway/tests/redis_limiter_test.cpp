// RedisRateLimiter against a redis-server of its own, started on a free loopback port (redis-server must be on the
// PATH: the local stack installs it). The Lua script's bucket arithmetic, exactness under concurrent callers,
// all-or-nothing over several buckets, revocation, NOSCRIPT recovery, AUTH, and what happens when the server is down
// or hangs.
#include "limits/redis_limiter.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

extern char** environ;

using namespace std::chrono_literals;
using crm::gateway::Bucket;
using crm::gateway::LimitQuery;
using crm::gateway::LimitVerdict;
using crm::gateway::RateLimit;
using crm::gateway::RedisRateLimiter;
using crm::gateway::RedisSettings;

namespace {

int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

// A redis-server child process without persistence; killed on destruction.
class RedisServer {
  public:
    explicit RedisServer(int port, std::vector<std::string> extra = {}) : port_(port) { Start(std::move(extra)); }
    ~RedisServer() { Stop(); }

    int port() const { return port_; }

    void Start(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{
            "redis-server", "--port", std::to_string(port_), "--bind",  "127.0.0.1", "--save",   "",
            "--appendonly", "no",     "--loglevel",          "warning", "--logfile", "/dev/null"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&files, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        const int spawned = posix_spawnp(&pid_, "redis-server", &files, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&files);
        INFO("redis-server must be installed (deploy/local/stack up installs it)");
        REQUIRE(spawned == 0);
        for (int i = 0; i < 100; ++i) {
            if (Ping()) return;
            std::this_thread::sleep_for(50ms);
        }
        Stop();  // the destructor does not run when the constructor fails
        FAIL("redis-server did not answer PING on port " << port_);
    }

    void Stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    void Pause() { kill(pid_, SIGSTOP); }
    void Resume() { kill(pid_, SIGCONT); }

    // One command on a fresh connection (setup and inspection, not the code under test).
    std::string Command(const std::vector<std::string>& args, const std::string& password = "") const {
        redisContext* c = redisConnect("127.0.0.1", port_);
        REQUIRE(c != nullptr);
        REQUIRE(c->err == 0);
        if (!password.empty()) freeReplyObject(redisCommand(c, "AUTH %s", password.c_str()));
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* r =
            static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
        REQUIRE(r != nullptr);
        std::string out = r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                          : r->str != nullptr            ? std::string(r->str, r->len)
                                                         : "";
        freeReplyObject(r);
        redisFree(c);
        return out;
    }

    // "calls" of one command in INFO commandstats (0 when not called since the last CONFIG RESETSTAT).
    long Calls(const std::string& command) const {
        const std::string info = Command({"INFO", "commandstats"});
        const std::string key = "cmdstat_" + command + ":calls=";
        const size_t at = info.find(key);
        return at == std::string::npos ? 0 : std::stol(info.substr(at + key.size()));
    }

  private:
    bool Ping() const {
        timeval tv{0, 200000};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
        bool ok = false;
        if (c != nullptr && c->err == 0) {
            auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
            ok = r != nullptr;  // PONG, or NOAUTH from a server with a password: either way it answers
            if (r != nullptr) freeReplyObject(r);
        }
        if (c != nullptr) redisFree(c);
        return ok;
    }

    int port_;
    pid_t pid_ = -1;
};

RedisSettings Settings(int port) {
    RedisSettings s;
    s.port = port;
    s.timeout = 1000ms;  // generous: a loaded test machine must not turn a slow answer into "unavailable"
    s.backoff = 200ms;
    return s;
}

LimitQuery Tenant(const std::string& tenant, RateLimit limit, const std::string& jti = "") {
    LimitQuery q;
    if (!jti.empty()) q.revoked_key = crm::gateway::RevokedJtiKey(jti);
    q.buckets.push_back({crm::gateway::TenantBucketKey(tenant), limit});
    return q;
}

}  // namespace

TEST_CASE("a bucket admits its burst, then refuses with the time until the next token") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    const auto q = Tenant("acme", {0.001, 3});  // one token per 1000 s: nothing refills during the test
    for (int i = 0; i < 3; ++i) CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    const auto refused = limiter.Check(q);
    CHECK(refused.verdict == LimitVerdict::kRateLimited);
    CHECK(refused.retry_after > 990s);
    CHECK(refused.retry_after <= 1000s);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRateLimited);  // a refusal takes nothing and stays refused

    // Another tenant has its own bucket; the bucket expires once it would be full again.
    CHECK(limiter.Check(Tenant("globex", {0.001, 3})).verdict == LimitVerdict::kAllowed);
    const long pttl = std::stol(redis.Command({"PTTL", "crm:ratelimit:tenant:acme"}));
    CHECK(pttl > 2990000);  // (3 - 0) / 0.001 s + 1 s
    CHECK(pttl <= 3001000);
}

TEST_CASE("tokens come back at the configured rate, fractions included") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    const auto q = Tenant("acme", {10, 2});  // one token per 100 ms
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    const auto refused = limiter.Check(q);
    REQUIRE(refused.verdict == LimitVerdict::kRateLimited);
    CHECK(refused.retry_after > 0ms);
    CHECK(refused.retry_after <= 100ms);
    std::this_thread::sleep_for(refused.retry_after + 20ms);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRateLimited);
    // Never more than the burst, however long the wait.
    std::this_thread::sleep_for(400ms);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRateLimited);
}

TEST_CASE("concurrent callers get exactly the burst") {
    RedisServer redis(FreePort());
    auto settings = Settings(redis.port());
    settings.pool_size = 3;  // fewer connections than threads: callers wait for one
    RedisRateLimiter limiter(settings);
    const auto q = Tenant("acme", {0.001, 50});
    std::atomic<int> allowed{0};
    std::atomic<int> limited{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 25; ++i) {
                switch (limiter.Check(q).verdict) {
                    case LimitVerdict::kAllowed:
                        ++allowed;
                        break;
                    case LimitVerdict::kRateLimited:
                        ++limited;
                        break;
                    default:
                        ++other;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(allowed == 50);
    CHECK(limited == 150);
    CHECK(other == 0);
}

TEST_CASE("several buckets: a call takes from all of them or from none") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    LimitQuery both;
    both.buckets = {Bucket{"crm:ratelimit:tenant:acme", {0.001, 5}}, Bucket{"crm:ratelimit:key:k1", {0.001, 1}}};
    CHECK(limiter.Check(both).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(both).verdict == LimitVerdict::kRateLimited);  // the key's bucket is empty
    CHECK(limiter.Check(both).verdict == LimitVerdict::kRateLimited);
    // The tenant's bucket gave one token only: four are left.
    const auto tenant_only = Tenant("acme", {0.001, 5});
    for (int i = 0; i < 4; ++i) CHECK(limiter.Check(tenant_only).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(tenant_only).verdict == LimitVerdict::kRateLimited);
}

TEST_CASE("a revoked jti is refused in the same round trip and takes no token") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    REQUIRE(limiter.Check(Tenant("warm-up", {1, 1})).verdict == LimitVerdict::kAllowed);  // loads the script
    redis.Command({"SET", "crm:revoked:jti:j-1", "1", "EX", "60"});
    redis.Command({"CONFIG", "RESETSTAT"});
    const RateLimit one{0.001, 1};
    CHECK(limiter.Check(Tenant("acme", one, "j-1")).verdict == LimitVerdict::kRevoked);
    CHECK(limiter.Check(Tenant("acme", one, "j-1")).verdict == LimitVerdict::kRevoked);
    CHECK(limiter.Check(Tenant("acme", one, "j-2")).verdict == LimitVerdict::kAllowed);  // the bucket was still full
    CHECK(limiter.Check(Tenant("acme", one, "j-2")).verdict == LimitVerdict::kRateLimited);
    CHECK(limiter.Check(Tenant("acme", one, "j-1")).verdict == LimitVerdict::kRevoked);  // revoked beats limited
    CHECK(redis.Calls("evalsha") + redis.Calls("eval") == 5);                            // one round trip per check
    // Revocation alone (a call that takes no token: the proxy sends no bucket for calls it refuses).
    LimitQuery revocation_only;
    revocation_only.revoked_key = crm::gateway::RevokedJtiKey("j-1");
    CHECK(limiter.Check(revocation_only).verdict == LimitVerdict::kRevoked);
    revocation_only.revoked_key = crm::gateway::RevokedJtiKey("j-3");
    CHECK(limiter.Check(revocation_only).verdict == LimitVerdict::kAllowed);
    // Nothing to check: no round trip at all.
    redis.Command({"CONFIG", "RESETSTAT"});
    CHECK(limiter.Check(LimitQuery{}).verdict == LimitVerdict::kAllowed);
    CHECK(redis.Calls("evalsha") + redis.Calls("eval") == 0);
}

TEST_CASE("a revoked API key: the marker Mark sets is seen by Check, with the key's and the tenant's buckets") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    LimitQuery q;
    q.revoked_key = crm::gateway::RevokedApiKeyKey("k-1");
    q.buckets = {{crm::gateway::TenantBucketKey("acme"), {100, 100}},
                 {crm::gateway::ApiKeyBucketKey("k-1"), {0.001, 2}}};
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRateLimited);  // the key's bucket, not the tenant's
    REQUIRE(limiter.Mark(crm::gateway::RevokedApiKeyKey("k-1"), std::chrono::seconds(120)));
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRevoked);
    const long ttl = std::stol(redis.Command({"TTL", "crm:revoked:apikey:k-1"}));
    CHECK(ttl > 110);
    CHECK(ttl <= 120);
}

TEST_CASE("Mark on a server that is down reports failure") {
    RedisRateLimiter limiter(Settings(FreePort()));
    CHECK_FALSE(limiter.Mark("crm:revoked:apikey:x", std::chrono::seconds(10)));
}

TEST_CASE("EVALSHA is used, and EVAL once after the server lost its scripts") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    const auto q = Tenant("acme", {1000, 1000});
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);  // NOSCRIPT, then EVAL
    redis.Command({"SCRIPT", "FLUSH"});
    redis.Command({"CONFIG", "RESETSTAT"});
    for (int i = 0; i < 5; ++i) CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(redis.Calls("eval") == 1);
    CHECK(redis.Calls("evalsha") == 5);  // the first answered NOSCRIPT
}

TEST_CASE("a password in the URL is sent with AUTH and a wrong one makes the limiter unavailable") {
    RedisServer redis(FreePort(), {"--requirepass", "pa55word"});
    auto settings = RedisSettings::FromUrl("redis://:pa55word@127.0.0.1:" + std::to_string(redis.port()) + "/3");
    settings.timeout = 1000ms;
    RedisRateLimiter limiter(settings);
    CHECK(limiter.Check(Tenant("acme", {0.001, 1})).verdict == LimitVerdict::kAllowed);
    settings.password = "wrong";
    RedisRateLimiter wrong(settings);
    const auto d = wrong.Check(Tenant("acme", {0.001, 1}));
    CHECK(d.verdict == LimitVerdict::kUnavailable);
    CHECK_THAT(d.error, Catch::Contains("AUTH refused"));
    CHECK_THAT(d.error, !Catch::Contains("wrong"));
}

TEST_CASE("a server that is down answers unavailable at once, backs off, and is used again once it is back") {
    RedisServer redis(FreePort());
    auto settings = Settings(redis.port());
    settings.backoff = 300ms;
    RedisRateLimiter limiter(settings);
    const auto q = Tenant("acme", {1000, 1000});
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);  // a pooled connection exists

    redis.Stop();
    auto started = std::chrono::steady_clock::now();
    auto d = limiter.Check(q);  // the pooled connection breaks
    CHECK(d.verdict == LimitVerdict::kUnavailable);
    CHECK(std::chrono::steady_clock::now() - started < 200ms);
    d = limiter.Check(q);  // within the backoff: no attempt
    CHECK(d.verdict == LimitVerdict::kUnavailable);
    CHECK_THAT(d.error, Catch::Contains("backing off"));
    std::this_thread::sleep_for(350ms);
    d = limiter.Check(q);  // a new connection is refused
    CHECK(d.verdict == LimitVerdict::kUnavailable);
    CHECK_THAT(d.error, Catch::Contains("redis connect 127.0.0.1:"));

    redis.Start();  // empty: no scripts, no buckets
    std::this_thread::sleep_for(350ms);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
}

TEST_CASE("a server that hangs costs one timeout, not one per call") {
    RedisServer redis(FreePort());
    auto settings = Settings(redis.port());
    settings.timeout = 50ms;
    settings.backoff = 500ms;
    RedisRateLimiter limiter(settings);
    const auto q = Tenant("acme", {1000, 1000});
    REQUIRE(limiter.Check(q).verdict == LimitVerdict::kAllowed);

    redis.Pause();
    auto started = std::chrono::steady_clock::now();
    const auto d = limiter.Check(q);
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(d.verdict == LimitVerdict::kUnavailable);
    CHECK(took >= 45ms);
    CHECK(took < 400ms);
    started = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) CHECK(limiter.Check(q).verdict == LimitVerdict::kUnavailable);
    CHECK(std::chrono::steady_clock::now() - started < 50ms);  // backing off: no waiting
    redis.Resume();
    std::this_thread::sleep_for(550ms);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
}

TEST_CASE("a lease takes a whole batch or nothing, and Mark announces revocations to every watching replica") {
    RedisServer redis(FreePort());
    RedisRateLimiter limiter(Settings(redis.port()));
    auto q = Tenant("leased", {0.001, 10});
    q.cost = 4;
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRateLimited);  // 2 left: not a whole batch
    q.cost = 1;
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kAllowed);
    CHECK(limiter.Check(q).verdict == LimitVerdict::kRateLimited);

    // Another replica watches the channel: it hears of a revocation made here, and of one made by an operator.
    RedisRateLimiter other(Settings(redis.port()));
    std::mutex mutex;
    std::vector<std::string> heard;
    std::atomic<int> lost{0};
    other.WatchMarks(
        [&](const std::string& key) {
            std::lock_guard lock(mutex);
            heard.push_back(key);
        },
        [&] { ++lost; });
    std::this_thread::sleep_for(300ms);  // subscribed
    REQUIRE(limiter.Mark(crm::gateway::RevokedJtiKey("j-9"), 60s));
    redis.Command({"PUBLISH", "crm:revocations", "crm:revoked:jti:by-operator"});
    for (int i = 0; i < 50; ++i) {
        {
            std::lock_guard lock(mutex);
            if (heard.size() == 2) break;
        }
        std::this_thread::sleep_for(20ms);
    }
    std::lock_guard lock(mutex);
    CHECK(heard == std::vector<std::string>{"crm:revoked:jti:j-9", "crm:revoked:jti:by-operator"});
    CHECK(lost == 0);
}

TEST_CASE("a watcher whose callback drops the limiter's last owner ends cleanly after that callback") {
    RedisServer redis(FreePort());
    RedisRateLimiter publisher(Settings(redis.port()));
    auto owner =
        std::make_shared<std::unique_ptr<RedisRateLimiter>>(std::make_unique<RedisRateLimiter>(Settings(redis.port())));
    auto alive = std::make_shared<int>(1);  // held by the watcher thread's callbacks only
    std::weak_ptr<int> watcher_state = alive;
    std::atomic<int> marks{0};
    (*owner)->WatchMarks(
        [owner, alive, &marks](const std::string&) {
            ++marks;
            owner->reset();  // shutdown from inside the callback: the limiter is destroyed on the watcher's thread
        },
        [alive] {});
    alive.reset();
    std::this_thread::sleep_for(300ms);  // subscribed
    REQUIRE(publisher.Mark(crm::gateway::RevokedJtiKey("j-last"), 60s));
    // The thread sees its stop flag once the callback returns, leaves its loop and drops its callbacks.
    for (int i = 0; i < 100 && !watcher_state.expired(); ++i) std::this_thread::sleep_for(20ms);
    CHECK(marks == 1);
    CHECK(*owner == nullptr);
    CHECK(watcher_state.expired());
}
