#include "limits/redis_limiter.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "crm/common/crypto.hpp"

namespace crm::gateway {
namespace {

// KEYS: the revoked-jti key when ARGV[1] = 1, then one key per bucket.
// ARGV: 1 (or 0 without a revocation key), the cost of the call, then rate_per_second and burst per bucket.
// Returns {revoked, allowed, retry_after_ms}. Buckets are hashes {tokens, ts}; an absent bucket is full. Nothing is
// written unless every bucket has enough tokens; a written bucket expires once it would be full again.
constexpr std::string_view kScript = R"lua(
local nrev = tonumber(ARGV[1])
for i = 1, nrev do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {1, 0, 0} end
end
if #KEYS == nrev then return {0, 1, 0} end
local cost = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tokens = {}
for i = nrev + 1, #KEYS do
  local a = 3 + 2 * (i - nrev - 1)
  local rate, burst = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local have, ts = tonumber(state[1]), tonumber(state[2])
  if have == nil or ts == nil then
    have = burst
  else
    have = math.min(burst, have + math.max(0, now - ts) * rate)
  end
  if have < cost then wait = math.max(wait, (cost - have) / rate) end
  tokens[i] = have
end
if wait > 0 then return {0, 0, math.ceil(wait * 1000)} end
for i = nrev + 1, #KEYS do
  local a = 3 + 2 * (i - nrev - 1)
  local rate, burst = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local left = tokens[i] - cost
  redis.call('HSET', KEYS[i], 'tokens', left, 'ts', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - left) / rate * 1000) + 1000)
end
return {0, 1, 0}
)lua";

std::string Sha1Hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("SHA-1 unavailable");
    }
    return common::HexEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string Number(double value) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, end);
}

timeval ToTimeval(std::chrono::milliseconds ms) {
    return timeval{.tv_sec = static_cast<time_t>(ms.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

struct ContextFree {
    void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Runs one command; a null reply means the connection is broken (I/O error, timeout, EOF): see c->errstr.
Reply Command(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    return Reply(
        static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data())));
}

std::string ReplyError(const redisReply& r) { return std::string(r.str, r.len); }

}  // namespace

RedisSettings RedisSettings::FromUrl(std::string_view url) {
    constexpr std::string_view kScheme = "redis://";
    if (!url.starts_with(kScheme)) throw std::invalid_argument("must start with redis:// (redis://host:port[/db])");
    RedisSettings s;
    std::string_view rest = url.substr(kScheme.size());
    if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const size_t colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            throw std::invalid_argument("credentials must be written user:password@ or :password@");
        }
        s.username = std::string(userinfo.substr(0, colon));
        s.password = std::string(userinfo.substr(colon + 1));
        if (s.password.empty()) throw std::invalid_argument("empty password");
    }
    std::string_view path;
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::string_view port;
    if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
        const size_t close = rest.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in the host");
        s.host = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') throw std::invalid_argument("expected :port after the host");
        if (!rest.empty()) port = rest.substr(1);
    } else if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
        s.host = std::string(rest.substr(0, colon));
        port = rest.substr(colon + 1);
    } else {
        s.host = std::string(rest);
    }
    if (s.host.empty()) throw std::invalid_argument("no host");
    for (char c : s.host) {
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#') throw std::invalid_argument("invalid host");
    }
    auto integer = [](std::string_view text, int min, int max, const char* what) {
        int value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
            throw std::invalid_argument(std::string(what) + " must be an integer from " + std::to_string(min) + " to " +
                                        std::to_string(max));
        }
        return value;
    };
    if (!port.empty()) s.port = integer(port, 1, 65535, "the port");
    if (!path.empty()) s.database = integer(path, 0, 15, "the database number");
    return s;
}

std::string RedisSettings::Describe() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(database);
}

namespace {

Context ConnectTo(const RedisSettings& settings, std::string& error) {
    const timeval tv = ToTimeval(settings.timeout);
    Context c(redisConnectWithTimeout(settings.host.c_str(), settings.port, tv));
    if (!c) {
        error = "redis connect: out of memory";
        return nullptr;
    }
    if (c->err != 0) {
        error = "redis connect " + settings.Describe() + ": " + c->errstr;
        return nullptr;
    }
    if (redisSetTimeout(c.get(), tv) != REDIS_OK) {
        error = "redis: cannot set the socket timeout";
        return nullptr;
    }
    auto setup = [&](const std::vector<std::string>& args, const char* what) {
        Reply r = Command(c.get(), args);
        if (!r) {
            error = std::string("redis ") + what + ": " + c->errstr;
            return false;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            error = std::string("redis ") + what + " refused: " + ReplyError(*r);
            return false;
        }
        return true;
    };
    if (!settings.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!settings.username.empty()) auth.push_back(settings.username);
        auth.push_back(settings.password);
        if (!setup(auth, "AUTH")) return nullptr;
    }
    if (settings.database != 0 && !setup({"SELECT", std::to_string(settings.database)}, "SELECT")) return nullptr;
    return c;
}

// The subscriber of the markers' channel (RedisRateLimiter::WatchMarks), shared between the limiter and its thread.
struct MarksWatcher {
    RedisSettings settings;
    std::atomic<bool> stopping{false};

    // Subscribed to the markers' channel until stopping; reads wake every 200 ms to look at `stopping`.
    void Run(const RedisRateLimiter::MarkedCallback& on_marked, const std::function<void()>& on_lost) {
        bool lost = false;
        while (!stopping) {
            std::string error;
            Context c = ConnectTo(settings, error);
            Reply subscribed = c ? Command(c.get(), {"SUBSCRIBE", kMarksChannel}) : nullptr;
            if (!subscribed || subscribed->type == REDIS_REPLY_ERROR) {
                lost = true;
                on_lost();
                for (int i = 0; i < 10 && !stopping; ++i) std::this_thread::sleep_for(settings.backoff / 10);
                continue;
            }
            if (lost) on_lost();  // what was published while we were away is unknown
            lost = false;
            const timeval poll = ToTimeval(std::chrono::milliseconds(200));
            redisSetTimeout(c.get(), poll);
            while (!stopping) {
                void* raw = nullptr;
                if (redisGetReply(c.get(), &raw) != REDIS_OK) {
                    if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        c->err = 0;  // a quiet channel: poll again
                        continue;
                    }
                    lost = true;
                    break;
                }
                Reply message(static_cast<redisReply*>(raw));
                if (message && message->type == REDIS_REPLY_ARRAY && message->elements == 3 &&
                    message->element[2]->type == REDIS_REPLY_STRING) {
                    on_marked(std::string(message->element[2]->str, message->element[2]->len));
                }
            }
            if (lost) on_lost();
        }
    }
};

}  // namespace

struct RedisRateLimiter::Impl {
    RedisSettings settings;
    std::string sha = Sha1Hex(kScript);

    // The subscriber thread's state is shared with it, so that the thread may outlive this limiter: its own
    // callback may drop the limiter's last owner (at shutdown), and a thread cannot join itself.
    std::shared_ptr<MarksWatcher> watch = std::make_shared<MarksWatcher>();
    std::thread watcher;

    ~Impl() {
        watch->stopping = true;
        if (!watcher.joinable()) return;
        if (watcher.get_id() == std::this_thread::get_id()) {
            watcher.detach();  // it sees `stopping` when the callback returns and touches nothing of this Impl
        } else {
            watcher.join();
        }
    }

    std::mutex mutex;
    std::condition_variable released;
    std::vector<Context> idle;
    int open = 0;                                      // connections in `idle` or in use
    std::chrono::steady_clock::time_point retry_at{};  // no connection attempt before this

    // A pooled connection, a new one, or null with `error` set. Waits at most the timeout for a busy pool.
    Context Acquire(std::string& error) {
        const auto deadline = std::chrono::steady_clock::now() + settings.timeout;
        std::unique_lock lock(mutex);
        while (true) {
            if (!idle.empty()) {
                Context c = std::move(idle.back());
                idle.pop_back();
                return c;
            }
            if (std::chrono::steady_clock::now() < retry_at) {
                error = "redis unavailable (backing off after a failure)";
                return nullptr;
            }
            if (open < settings.pool_size) {
                ++open;
                lock.unlock();
                Context c = Connect(error);
                if (!c) Discard(nullptr);
                return c;
            }
            if (released.wait_until(lock, deadline) == std::cv_status::timeout) {
                error = "redis connection pool exhausted";
                return nullptr;
            }
        }
    }

    void Release(Context c) {
        {
            std::lock_guard lock(mutex);
            idle.push_back(std::move(c));
        }
        released.notify_one();
    }

    // A connection failed: close it, close the idle ones too (a restarted or unreachable server broke them as well),
    // and back off before connecting again.
    void Discard(Context c) {
        c.reset();
        std::vector<Context> dropped;
        {
            std::lock_guard lock(mutex);
            dropped.swap(idle);
            open -= 1 + static_cast<int>(dropped.size());
            retry_at = std::chrono::steady_clock::now() + settings.backoff;
        }
        released.notify_all();
    }

    Context Connect(std::string& error) const { return ConnectTo(settings, error); }
};

RedisRateLimiter::RedisRateLimiter(RedisSettings settings) : impl_(std::make_unique<Impl>()) {
    if (settings.pool_size < 1) throw std::invalid_argument("redis pool size must be at least 1");
    if (settings.timeout.count() < 1) throw std::invalid_argument("redis timeout must be at least 1 ms");
    impl_->settings = std::move(settings);
    // hiredis writes with write(2): a server that closed the connection would otherwise kill the process.
    static std::once_flag ignore_sigpipe;
    std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
}

RedisRateLimiter::~RedisRateLimiter() = default;

std::string_view RedisRateLimiter::Script() { return kScript; }

LimitDecision RedisRateLimiter::Check(const LimitQuery& query) {
    if (query.revoked_key.empty() && query.buckets.empty()) return {};
    LimitDecision unavailable = LimitDecision::Unavailable("");

    std::vector<std::string> args{"EVALSHA", impl_->sha};
    const bool revocation = !query.revoked_key.empty();
    args.push_back(std::to_string((revocation ? 1 : 0) + query.buckets.size()));
    if (revocation) args.push_back(query.revoked_key);
    for (const auto& b : query.buckets) args.push_back(b.key);
    args.push_back(revocation ? "1" : "0");
    args.push_back(std::to_string(std::max(1, query.cost)));  // one token a call; a lease takes a batch
    for (const auto& b : query.buckets) {
        args.push_back(Number(b.limit.rate_per_second));
        args.push_back(Number(b.limit.burst));
    }

    Context c = impl_->Acquire(unavailable.error);
    if (!c) return unavailable;
    Reply reply = Command(c.get(), args);
    if (reply && reply->type == REDIS_REPLY_ERROR && ReplyError(*reply).starts_with("NOSCRIPT")) {
        args[0] = "EVAL";  // the server lost its script cache (restart, SCRIPT FLUSH): EVAL loads it again
        args[1] = std::string(kScript);
        reply = Command(c.get(), args);
    }
    if (!reply) {
        unavailable.error = std::string("redis: ") + c->errstr;
        impl_->Discard(std::move(c));
        return unavailable;
    }
    impl_->Release(std::move(c));
    if (reply->type == REDIS_REPLY_ERROR) {
        unavailable.error = "redis script: " + ReplyError(*reply);
        return unavailable;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        unavailable.error = "redis script: unexpected reply";
        return unavailable;
    }
    for (size_t i = 0; i < 3; ++i) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            unavailable.error = "redis script: unexpected reply";
            return unavailable;
        }
    }
    if (reply->element[0]->integer == 1) return LimitDecision::Revoked();
    if (reply->element[1]->integer == 1) return {};
    return LimitDecision::RateLimited(std::chrono::milliseconds(std::max<long long>(1, reply->element[2]->integer)));
}

bool RedisRateLimiter::Mark(const std::string& key, std::chrono::seconds ttl) {
    std::string error;
    Context c = impl_->Acquire(error);
    if (!c) return false;
    Reply reply = Command(c.get(), {"SET", key, "1", "EX", std::to_string(std::max<long long>(1, ttl.count()))});
    Reply announced = reply ? Command(c.get(), {"PUBLISH", kMarksChannel, key}) : nullptr;
    if (!reply || !announced) {
        impl_->Discard(std::move(c));
        return false;
    }
    impl_->Release(std::move(c));
    return reply->type == REDIS_REPLY_STATUS;
}

void RedisRateLimiter::WatchMarks(MarkedCallback on_marked, std::function<void()> on_lost) {
    if (impl_->watcher.joinable()) throw std::logic_error("WatchMarks: already watching");
    impl_->watch->settings = impl_->settings;
    impl_->watcher = std::thread([watch = impl_->watch, on_marked = std::move(on_marked),
                                  on_lost = std::move(on_lost)] { watch->Run(on_marked, on_lost); });
}

}  // namespace crm::gateway
