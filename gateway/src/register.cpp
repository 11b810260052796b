#include "register.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "admin/api_keys_service.hpp"
#include "admin/audit_service.hpp"
#include "admin/data_subject_requests.hpp"
#include "admin/retention_service.hpp"
#include "authentication/api_key_storage.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/scheduler.hpp"
#include "crm/common/service.hpp"
#include "limits/leasing_limiter.hpp"
#include "limits/redis_limiter.hpp"
#include "proxy/reflection.hpp"

namespace crm::gateway {

bool LinkedDescriptors::HasService(std::string_view service) const { return Find(service) != nullptr; }

bool LinkedDescriptors::HasMethod(std::string_view service, std::string_view method) const {
    const auto* sd = Find(service);
    return sd != nullptr && sd->FindMethodByName(std::string(method)) != nullptr;
}

const google::protobuf::ServiceDescriptor* LinkedDescriptors::Find(std::string_view service) {
    return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
}

namespace {

// CRM_JWT_ISSUERS: every problem is listed, with the index of the issuer it concerns.
std::vector<JwtIssuer> ParseIssuers(const std::string& text, const JwksSettings& defaults,
                                    std::vector<std::string>& problems) {
    std::vector<JwtIssuer> out;
    if (text.empty()) return out;
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        problems.push_back("CRM_JWT_ISSUERS: not valid JSON");
        return out;
    }
    if (!doc.is_array() || doc.empty()) {
        problems.push_back("CRM_JWT_ISSUERS: must be a non-empty JSON array of issuers");
        return out;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < doc.size(); ++i) {
        const auto& e = doc[i];
        const std::string where = "CRM_JWT_ISSUERS[" + std::to_string(i) + "]";
        if (!e.is_object()) {
            problems.push_back(where + ": must be an object");
            continue;
        }
        for (const auto& [key, value] : e.items()) {
            if (key != "issuer" && key != "audience" && key != "algorithms" && key != "jwks") {
                problems.push_back(where + ": unknown key " + key);
            }
        }
        auto text_of = [&](const char* key) -> std::string {
            auto it = e.find(key);
            if (it == e.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
                problems.push_back(where + "." + key + ": a non-empty string is required");
                return {};
            }
            return it->get<std::string>();
        };
        JwtIssuer issuer;
        issuer.issuer = text_of("issuer");
        issuer.audience = text_of("audience");
        const std::string source = text_of("jwks");
        if (!issuer.issuer.empty() && !seen.insert(issuer.issuer).second) {
            problems.push_back(where + ".issuer: " + issuer.issuer + " is named twice");
        }
        auto algs = e.find("algorithms");
        if (algs == e.end() || !algs->is_array() || algs->empty()) {
            problems.push_back(where + ".algorithms: a non-empty array of RS256 and/or ES256 is required");
        } else {
            for (const auto& a : *algs) {
                const auto alg = a.is_string() ? ParseJwtAlgorithm(a.get<std::string>()) : std::nullopt;
                if (!alg || *alg == JwtAlgorithm::kHS256) {
                    problems.push_back(where + ".algorithms: " + a.dump() +
                                       " is not RS256 or ES256 (HS256 only for CRM_JWT_HS256_SECRET)");
                } else {
                    issuer.algorithms.push_back(*alg);
                }
            }
        }
        if (!source.empty()) {
            JwksSettings js = defaults;
            js.source = source;
            try {
                issuer.keys = std::make_shared<JwksCache>(js);
            } catch (const std::invalid_argument& ex) {
                problems.push_back(where + ".jwks: " + ex.what());
            }
        }
        out.push_back(std::move(issuer));
    }
    return out;
}

}  // namespace

std::vector<std::string> SafeToRetry() {
    namespace pb = google::protobuf;
    std::vector<std::string> files;
    pb::DescriptorPool::internal_generated_database()->FindAllFileNames(&files);
    std::vector<std::string> methods;
    for (const auto& name : files) {
        const auto* file = pb::DescriptorPool::generated_pool()->FindFileByName(name);
        if (file == nullptr) continue;
        for (int s = 0; s < file->service_count(); ++s) {
            const auto* service = file->service(s);
            for (int m = 0; m < service->method_count(); ++m) {
                const auto* method = service->method(m);
                const auto level = method->options().idempotency_level();
                if (method->client_streaming() || method->server_streaming()) continue;
                if (level != pb::MethodOptions::NO_SIDE_EFFECTS && level != pb::MethodOptions::IDEMPOTENT) continue;
                methods.push_back(service->full_name() + "/" + method->name());
            }
        }
    }
    std::sort(methods.begin(), methods.end());
    return methods;
}

std::vector<common::EnvVar> ConfigVars() {
    return {
        {"CRM_JWT_HS256_SECRET",
         "HS256 key of the development issuer CRM_JWT_ISSUER (at least 32 characters; empty: no HS256 issuer, then "
         "CRM_JWT_ISSUERS must name one)",
         "", false, true},
        {"CRM_JWT_ISSUER", "\"iss\" of the HS256 development issuer", "crm-local"},
        {"CRM_JWT_AUDIENCE", "required \"aud\" of the HS256 development issuer's JWTs", "crm-api"},
        {"CRM_JWT_ISSUERS",
         "further JWT issuers with public keys, a JSON array: [{\"issuer\":\"https://idp\",\"audience\":\"crm-api\","
         "\"algorithms\":[\"RS256\",\"ES256\"],\"jwks\":\"https://idp/jwks.json\" or \"/path/jwks.json\"}]",
         ""},
        {"CRM_JWKS_REFRESH_SECONDS", "period of JWKS refreshes (10..86400)", "300"},
        {"CRM_JWKS_MIN_REFRESH_SECONDS", "at most one refresh per this period caused by unknown kids (1..3600)", "10"},
        {"CRM_JWKS_FETCH_TIMEOUT_MS", "bound on fetching a JWKS URL (100..30000)", "2000"},
        {"CRM_JWT_LEEWAY_SECONDS", "clock skew tolerated on exp, nbf and iat (0..300)", "30"},
        {"CRM_ROUTES", "backends by proto package: pkg=host:port,... e.g. crm.contacts.v1=127.0.0.1:50051", "", true},
        {"CRM_GATEWAY_RETRY_ATTEMPTS",
         "attempts in all for methods without side effects (idempotency_level in the protos) when a backend answers "
         "UNAVAILABLE (1..5; 1: no retries); other methods are sent once",
         "3"},
        {"CRM_GATEWAY_DEFAULT_DEADLINE_MS", "deadline of backend calls when the client sets none (100..600000)",
         "15000"},
        {"CRM_GATEWAY_POLICY_FILE",
         "JSON policy: roles allowed per method (default deny) and rate-limit plans per tenant "
         "(e.g. deploy/local/gateway-policy.json)",
         "", true},
        {"CRM_RATE_LIMIT_DEFAULT", "token bucket of tenants the policy does not name: rate_per_second:burst", "50:100"},
        {"CRM_RATE_LIMIT_FAIL_MODE",
         "when Redis is unavailable: open (serve without rate limits and revocation checks) or closed (UNAVAILABLE)",
         "open"},
        {"CRM_API_KEY_CACHE_MS",
         "how long a replica caches an API key lookup (100..300000); with Redis down, the bound on a revocation "
         "reaching the other replicas",
         "30000"},
        {"CRM_API_KEY_RATE_LIMIT_DEFAULT", "token bucket of API keys created without their own limit: rate:burst",
         "20:40"},
        {"CRM_API_KEY_LAST_USE_FLUSH_SECONDS", "period of the batched last_use_time writes (1..3600)", "30"},
        {"CRM_UPSTREAM_TLS_CA_FILE",
         "PEM CA: call the services over TLS, trusting it (empty: plaintext, with the signed identity only)", ""},
        {"CRM_UPSTREAM_TLS_CERT_FILE", "PEM client certificate presented to the services (mutual TLS)", ""},
        {"CRM_UPSTREAM_TLS_KEY_FILE", "PEM private key of CRM_UPSTREAM_TLS_CERT_FILE", ""},
        {"CRM_UPSTREAM_TLS_SERVER_NAME", "name checked in the services' certificates instead of the route host", ""},
        {"CRM_REDIS_URL", "Redis for rate limits and revoked tokens: redis://[[user]:password@]host[:port][/db]",
         "redis://127.0.0.1:6379"},
        {"CRM_REDIS_TIMEOUT_MS", "bound on connecting and on each Redis command (5..1000)", "50"},
        {"CRM_RATE_LIMIT_LEASE_MS",
         "rate limits from leases: a replica takes a batch of a bucket's tokens from Redis at once (at most 5% of a "
         "second's rate and a quarter of the burst) and admits calls from it locally; unused tokens expire after "
         "this many milliseconds (50..10000). 0: every call asks Redis. Never admits more than a limit allows",
         "1000"},
        {"CRM_REVOCATION_CACHE_MS",
         "with leases: how long a token or API key found not revoked is remembered, the bound on a revocation made "
         "through another replica taking effect here (0..60000)",
         "1000"},
        {"CRM_REDIS_POOL_SIZE", "Redis connections kept open (1..256)", "8"},
        {"CRM_DSR_SIGNING_KEY",
         "Ed25519 seed (32 bytes, base64url) signing data-subject request receipts; empty: derived from "
         "CRM_INTERNAL_KEY",
         "", false, true},
        {"CRM_DSR_MAX_BACKOFF_SECONDS",
         "longest wait before a data-subject request that could not finish is tried again (1..3600)", "10"},
        {"CRM_HTTP_LISTEN", "HTTP/JSON listener host:port (empty: no HTTP/JSON)", "127.0.0.1:50080"},
        {"CRM_HTTP_THREADS", "HTTP/JSON I/O threads (1..64)", "2"},
        {"CRM_HTTP_MAX_BODY_BYTES", "largest HTTP request body, else 413 (1024..67108864)", "4194304"},
        {"CRM_HTTP_MAX_HEADER_BYTES", "largest HTTP request line + headers, else 431 (1024..1048576)", "16384"},
        {"CRM_HTTP_MAX_URL_BYTES", "longest HTTP request target, else 414 (256..65536)", "8192"},
        {"CRM_HTTP_IDLE_TIMEOUT_MS", "keep-alive HTTP connection closed after this idle time (1000..3600000)", "60000"},
        {"CRM_HTTP_CORS_ORIGINS",
         "origins allowed by CORS, comma separated (https://app.example.com,http://localhost:3000), * for any; "
         "empty: no CORS",
         ""},
    };
}

GatewaySettings SettingsFromConfig(const common::Config& config) {
    std::vector<std::string> problems;
    GatewaySettings g;
    AdmissionSettings& s = g.admission;
    s.internal_key = config.Get("CRM_INTERNAL_KEY");
    s.jwt.secret = config.Get("CRM_JWT_HS256_SECRET");
    s.jwt.issuer = config.Get("CRM_JWT_ISSUER");
    s.jwt.audience = config.Get("CRM_JWT_AUDIENCE");
    if (!s.jwt.secret.empty() && s.jwt.secret.size() < 32) {
        problems.push_back("CRM_JWT_HS256_SECRET: must be at least 32 characters");
    }
    if (s.jwt.secret == s.internal_key) {
        problems.push_back("CRM_JWT_HS256_SECRET: must differ from CRM_INTERNAL_KEY (one key per purpose)");
    }
    auto integer = [&](const char* name, long min, long max, long fallback) {
        try {
            return config.GetInt(name, min, max);
        } catch (const common::ConfigError& e) {
            problems.push_back(e.what());
            return fallback;
        }
    };
    s.jwt.leeway = std::chrono::seconds(integer("CRM_JWT_LEEWAY_SECONDS", 0, 300, 30));
    JwksSettings jwks;
    jwks.refresh_interval = std::chrono::seconds(integer("CRM_JWKS_REFRESH_SECONDS", 10, 86400, 300));
    jwks.min_refresh_interval = std::chrono::seconds(integer("CRM_JWKS_MIN_REFRESH_SECONDS", 1, 3600, 10));
    jwks.fetch_timeout = std::chrono::milliseconds(integer("CRM_JWKS_FETCH_TIMEOUT_MS", 100, 30000, 2000));
    s.jwt.issuers = ParseIssuers(config.Get("CRM_JWT_ISSUERS"), jwks, problems);
    if (s.jwt.secret.empty() && s.jwt.issuers.empty()) {
        problems.push_back("CRM_JWT_HS256_SECRET or CRM_JWT_ISSUERS: at least one JWT issuer must be configured");
    }
    for (const auto& i : s.jwt.issuers) {
        if (!s.jwt.secret.empty() && i.issuer == s.jwt.issuer) {
            problems.push_back("CRM_JWT_ISSUERS: issuer " + i.issuer + " is also CRM_JWT_ISSUER");
        }
    }
    g.proxy.default_deadline =
        std::chrono::milliseconds(integer("CRM_GATEWAY_DEFAULT_DEADLINE_MS", 100, 600000, 15000));
    g.proxy.retry_attempts = static_cast<int>(integer("CRM_GATEWAY_RETRY_ATTEMPTS", 1, 5, 3));
    g.proxy.retryable_methods = SafeToRetry();
    try {
        g.proxy.routes = RouteTable::Parse(config.Get("CRM_ROUTES"));
    } catch (const std::invalid_argument& e) {
        problems.push_back(std::string("CRM_ROUTES: ") + e.what());
    }
    const std::string& policy_file = config.Get("CRM_GATEWAY_POLICY_FILE");
    try {
        const LinkedDescriptors catalog;
        s.policy = Policy::Load(policy_file, &catalog);
    } catch (const PolicyError& e) {
        for (const auto& p : e.problems()) problems.push_back("CRM_GATEWAY_POLICY_FILE " + policy_file + ": " + p);
    }
    if (auto limit = RateLimit::Parse(config.Get("CRM_RATE_LIMIT_DEFAULT"))) {
        s.default_rate_limit = *limit;
    } else {
        problems.push_back(
            "CRM_RATE_LIMIT_DEFAULT: must be rate_per_second:burst (rate 0 < r <= 1000000, burst a "
            "whole number 1..1000000), got '" +
            config.Get("CRM_RATE_LIMIT_DEFAULT") + "'");
    }
    g.api_key_cache.ttl = std::chrono::milliseconds(integer("CRM_API_KEY_CACHE_MS", 100, 300000, 30000));
    g.api_key_flush = std::chrono::seconds(integer("CRM_API_KEY_LAST_USE_FLUSH_SECONDS", 1, 3600, 30));
    if (auto limit = RateLimit::Parse(config.Get("CRM_API_KEY_RATE_LIMIT_DEFAULT"))) {
        s.default_api_key_limit = *limit;
    } else {
        problems.push_back("CRM_API_KEY_RATE_LIMIT_DEFAULT: must be rate_per_second:burst, got '" +
                           config.Get("CRM_API_KEY_RATE_LIMIT_DEFAULT") + "'");
    }
    g.proxy.upstream_tls = {config.Get("CRM_UPSTREAM_TLS_CERT_FILE"), config.Get("CRM_UPSTREAM_TLS_KEY_FILE"),
                            config.Get("CRM_UPSTREAM_TLS_CA_FILE")};
    g.proxy.upstream_server_name = config.Get("CRM_UPSTREAM_TLS_SERVER_NAME");
    if (!g.proxy.upstream_tls.empty()) {
        if (g.proxy.upstream_tls.ca_file.empty()) {
            problems.push_back("CRM_UPSTREAM_TLS_CA_FILE: required when a client certificate is configured");
        }
        if (g.proxy.upstream_tls.cert_file.empty() != g.proxy.upstream_tls.key_file.empty()) {
            problems.push_back("CRM_UPSTREAM_TLS_CERT_FILE and CRM_UPSTREAM_TLS_KEY_FILE: set both or neither");
        }
        for (const auto* f :
             {&g.proxy.upstream_tls.ca_file, &g.proxy.upstream_tls.cert_file, &g.proxy.upstream_tls.key_file}) {
            if (f->empty()) continue;
            try {
                common::ReadPemFile(*f);
            } catch (const std::runtime_error& e) {
                problems.push_back(std::string("CRM_UPSTREAM_TLS_*: ") + e.what());
            }
        }
    } else if (!g.proxy.upstream_server_name.empty()) {
        problems.push_back("CRM_UPSTREAM_TLS_SERVER_NAME: only meaningful with CRM_UPSTREAM_TLS_CA_FILE");
    }
    const std::string& fail_mode = config.Get("CRM_RATE_LIMIT_FAIL_MODE");
    if (fail_mode == "open" || fail_mode == "closed") {
        s.fail_mode = fail_mode == "open" ? FailMode::kOpen : FailMode::kClosed;
    } else {
        problems.push_back("CRM_RATE_LIMIT_FAIL_MODE: must be open or closed, got '" + fail_mode + "'");
    }
    try {
        g.redis = RedisSettings::FromUrl(config.Get("CRM_REDIS_URL"));
    } catch (const std::invalid_argument& e) {
        problems.push_back(std::string("CRM_REDIS_URL: ") + e.what());  // never the URL: it may hold a password
    }
    g.redis.timeout = std::chrono::milliseconds(integer("CRM_REDIS_TIMEOUT_MS", 5, 1000, 50));
    g.redis.pool_size = static_cast<int>(integer("CRM_REDIS_POOL_SIZE", 1, 256, 8));
    const long long lease_ms = integer("CRM_RATE_LIMIT_LEASE_MS", 0, 10000, 1000);
    if (lease_ms != 0 && lease_ms < 50) problems.push_back("CRM_RATE_LIMIT_LEASE_MS: 0, or 50..10000");
    g.lease_ttl = std::chrono::milliseconds(lease_ms);
    g.revocation_ttl = std::chrono::milliseconds(integer("CRM_REVOCATION_CACHE_MS", 0, 60000, 1000));
    g.http.listen = config.Get("CRM_HTTP_LISTEN");
    if (!g.http.listen.empty() && g.http.listen.rfind(':') == std::string::npos) {
        problems.push_back("CRM_HTTP_LISTEN: must be host:port, got '" + g.http.listen + "'");
    }
    g.http.threads = static_cast<int>(integer("CRM_HTTP_THREADS", 1, 64, 2));
    g.http.limits.max_body_bytes = static_cast<size_t>(integer("CRM_HTTP_MAX_BODY_BYTES", 1024, 64 << 20, 4 << 20));
    g.http.limits.max_header_bytes = static_cast<size_t>(integer("CRM_HTTP_MAX_HEADER_BYTES", 1024, 1 << 20, 16384));
    g.http.limits.max_url_bytes = static_cast<size_t>(integer("CRM_HTTP_MAX_URL_BYTES", 256, 65536, 8192));
    g.http.idle_timeout = std::chrono::milliseconds(integer("CRM_HTTP_IDLE_TIMEOUT_MS", 1000, 3600000, 60000));
    g.http_gateway.default_deadline = g.proxy.default_deadline;
    for (std::string_view rest = config.Get("CRM_HTTP_CORS_ORIGINS"); !rest.empty();) {
        const size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) continue;
        const bool origin = (item.rfind("http://", 0) == 0 || item.rfind("https://", 0) == 0) &&
                            item.find('/', item.find("//") + 2) == std::string_view::npos;
        if (item != "*" && !origin) {
            problems.push_back("CRM_HTTP_CORS_ORIGINS: '" + std::string(item) +
                               "' is not * or an origin (scheme://host[:port], no path)");
            continue;
        }
        g.http_gateway.cors_origins.emplace_back(item);
    }
    if (!problems.empty()) {
        std::string message = "invalid configuration:";
        for (const auto& p : problems) message += "\n  - " + p;  // the format of Config::Check
        throw common::ConfigError(message);
    }
    return g;
}

namespace {

// First load of every issuer's JWKS, then periodic refreshes; outcomes and key counts as metrics. An issuer whose
// keys cannot be loaded at start does not stop the gateway (its tokens are refused until a refresh works).
void StartJwks(const JwtSettings& jwt, common::Metrics& metrics) {
    auto& refreshes = prometheus::BuildCounter()
                          .Name("crm_gateway_jwks_refreshes_total")
                          .Help("JWKS loads by issuer and outcome (ok, failed).")
                          .Register(metrics.registry());
    auto& keys = prometheus::BuildGauge()
                     .Name("crm_gateway_jwks_keys")
                     .Help("Public keys loaded from the issuer's JWKS.")
                     .Register(metrics.registry());
    for (const auto& issuer : jwt.issuers) {
        auto* cache = dynamic_cast<JwksCache*>(issuer.keys.get());
        if (cache == nullptr) continue;
        auto& ok = refreshes.Add({{"issuer", issuer.issuer}, {"outcome", "ok"}});
        auto& failed = refreshes.Add({{"issuer", issuer.issuer}, {"outcome", "failed"}});
        auto& loaded = keys.Add({{"issuer", issuer.issuer}});
        const std::string name = issuer.issuer;
        cache->SetObserver([&ok, &failed, &loaded, name](bool good, size_t count, const std::string& error) {
            (good ? ok : failed).Increment();
            loaded.Set(static_cast<double>(count));
            if (!good) common::log::Warn("JWKS refresh failed", {{"issuer", name}, {"error", error}});
        });
        if (cache->Refresh()) {
            common::log::Info("JWKS loaded", {{"issuer", issuer.issuer}, {"keys", std::to_string(cache->size())}});
        }
        cache->StartRefresher();
    }
}

// Writes the API keys' last uses in batches: every `period`, and once more at shutdown.
void StartLastUseFlusher(common::ServiceApp& app, std::shared_ptr<CachedApiKeyStore> keys,
                         std::chrono::seconds period) {
    struct Flusher {
        std::mutex mutex;
        std::condition_variable wake;
        bool stop = false;
        std::thread thread;
    };
    auto f = std::make_shared<Flusher>();
    auto flush = [keys] {
        try {
            keys->Flush();
        } catch (const std::exception& e) {
            common::log::Warn("api key last-use flush failed; kept for the next one", {{"error", e.what()}});
        }
    };
    app.OnStart([f, flush, period] {
        f->thread = std::thread([f, flush, period] {
            std::unique_lock lock(f->mutex);
            while (!f->wake.wait_for(lock, period, [&] { return f->stop; })) {
                lock.unlock();
                flush();
                lock.lock();
            }
        });
    });
    app.OnShutdown([f, flush] {
        {
            std::lock_guard lock(f->mutex);
            f->stop = true;
        }
        f->wake.notify_all();
        if (f->thread.joinable()) f->thread.join();
        flush();
    });
}

}  // namespace

void Register(common::ServiceApp& app) {
    GatewaySettings settings = SettingsFromConfig(app.config());
    for (const auto& r : settings.proxy.routes.routes()) {
        common::log::Info("route", {{"package", r.package}, {"target", r.target}});
    }
    common::log::Info("rate limiter",
                      {{"redis", settings.redis.Describe()},
                       {"fail_mode", settings.admission.fail_mode == FailMode::kOpen ? "open" : "closed"},
                       {"lease_ms", std::to_string(settings.lease_ttl.count())}});
    std::shared_ptr<RateLimiter> limiter = std::make_shared<RedisRateLimiter>(settings.redis);
    if (settings.lease_ttl.count() > 0) {
        LeaseSettings lease;
        lease.lease_ttl = settings.lease_ttl;
        lease.revocation_ttl = settings.revocation_ttl;
        limiter = std::make_shared<LeasingRateLimiter>(std::move(limiter), lease);
    }
    settings.admission.limiter = limiter;
    StartJwks(settings.admission.jwt, app.metrics());
    auto keys = MakeApiKeyStore(app.db(), settings.api_key_cache);
    settings.admission.api_keys = keys;
    auto admission = std::make_shared<const Admission>(std::move(settings.admission), app.metrics());
    const std::vector<Route> proxy_routes = settings.proxy.routes.routes();
    // Reflection lists the routed services too (describing them works from the linked descriptors already).
    const std::vector<std::string> listed = RoutedServices(settings.proxy.routes);
    common::log::Info("reflection lists the routed services", {{"count", std::to_string(listed.size())}});
    auto proxy = std::make_shared<Proxy>(std::move(settings.proxy), admission);
    // A revocation marker outlives every replica's cached copy of the key.
    const auto marker_ttl =
        std::chrono::duration_cast<std::chrono::seconds>(settings.api_key_cache.ttl) * 2 + std::chrono::seconds(60);
    app.AddService(MakeApiKeysService({marker_ttl}, app.db(), admission, keys, limiter));
    // The suite's audit trail: every routed service's own, and the gateway's (API keys).
    std::vector<AuditBackend> audit_backends;
    for (const auto& r : proxy_routes) {
        if (auto name = ServiceOfPackage(r.package); !name.empty())
            audit_backends.push_back({name, proxy->channel(r.package)});
    }
    app.AddService(
        MakeRetentionService({.internal_key = app.config().Get("CRM_INTERNAL_KEY")}, admission, audit_backends));
    // Data-subject requests: every routed service takes part (its SubjectDataService); a worker moves them on.
    auto dsr = std::make_shared<DataSubjectRequests>(
        DataSubjectSettings{
            .internal_key = app.config().Get("CRM_INTERNAL_KEY"),
            .max_backoff = std::chrono::seconds(app.config().GetInt("CRM_DSR_MAX_BACKOFF_SECONDS", 1, 3600))},
        app.db(), admission, audit_backends,
        ReceiptSigner::FromConfig(app.config().Get("CRM_DSR_SIGNING_KEY"), app.config().Get("CRM_INTERNAL_KEY")));
    dsr->ExportMetrics(app.metrics());
    auto dsr_worker = std::make_shared<common::Scheduler>(
        "data-subject requests", std::vector<common::ScheduledJob>{
                                     {"data_subject_requests", std::chrono::seconds(1), [dsr] { dsr->RunDue(); }}});
    app.AddService(dsr->MakeService([dsr_worker] { dsr_worker->Wake(); }));
    app.OnStart([dsr_worker] { dsr_worker->Start(); });
    app.OnShutdown([dsr_worker, dsr] { dsr_worker->Stop(); });
    app.AddService(MakeAuditService({.internal_key = app.config().Get("CRM_INTERNAL_KEY")}, app.db(), admission,
                                    std::move(audit_backends)));
    StartLastUseFlusher(app, keys, settings.api_key_flush);
    app.ConfigureBuilder([proxy, listed](grpc::ServerBuilder& builder) {
        builder.RegisterCallbackGenericService(proxy->service());
        builder.SetOption(ListedInReflection(listed));
    });
    // The server has stopped and drained by now; calls still finishing their backend side release the proxy state.
    app.OnShutdown([proxy] {
        if (!proxy->WaitIdle(std::chrono::seconds(5))) {
            common::log::Warn("gateway calls still in flight at exit",
                              {{"calls", std::to_string(proxy->active_calls())}});
        }
    });
    if (settings.http.listen.empty()) return;

    // HTTP/JSON: routes from the google.api.http rules of the linked descriptors, calls over the proxy's channels.
    HttpRouteTable routes = HttpRouteTable::FromLinkedDescriptors();  // throws on a bad rule: fail at start
    for (const auto& name : routes.unmapped()) common::log::Warn("RPC without an HTTP rule", {{"rpc", name}});
    for (const auto& r : routes.routes()) {
        if (!proxy->channel(r.package)) {
            common::log::Warn("HTTP route without a backend (answers 503)",
                              {{"route", r.http_method + " " + r.path.text()}, {"package", r.package}});
        }
    }
    common::log::Info("http routes", {{"count", std::to_string(routes.routes().size())}});
    std::map<std::string, std::string, std::less<>> targets;
    for (const auto& r : proxy_routes) targets.emplace(r.package, r.target);
    auto handler = std::make_shared<HttpGateway>(
        std::move(settings.http_gateway), std::move(routes), admission,
        [&](std::string_view package) {
            const auto t = targets.find(package);
            return BackendChannel{proxy->channel(package), t == targets.end() ? "" : t->second};
        },
        app.metrics());
    auto server = std::make_shared<HttpServer>(settings.http, handler);
    server->Start();  // binds now: a taken port fails the start
    common::log::Info("serving HTTP/JSON", {{"http", settings.http.listen}});
    // Runs before the proxy's hook (reverse order): answers in flight are written, then the connections close.
    app.OnShutdown([server] { server->Stop(std::chrono::seconds(5)); });
}

}  // namespace crm::gateway
