#include "policy/admission.hpp"

#include <google/protobuf/descriptor.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <utility>

#include "authentication/jwt_cache.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/public_token.hpp"
#include "proxy/routes.hpp"

namespace crm::gateway {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Method labels outside the linked descriptors are client-chosen strings: only this many distinct ones, and only
// from authenticated callers, become label values; the rest are counted as "other".
constexpr size_t kMaxDynamicLabels = 256;
constexpr size_t kMaxLoggedPathBytes = 200;
// At most one warning per this period while the rate limiter is unavailable.
constexpr auto kLimiterWarnPeriod = std::chrono::seconds(10);

// "/pkg.Svc/M" for the path parser, whether or not the caller gave the leading slash.
std::string AsPath(std::string_view method) {
    if (!method.empty() && method.front() == '/') return std::string(method);
    return "/" + std::string(method);
}

// The headers the admission reads, copied into a metadata list for the pure helpers of proxy/headers.hpp.
Metadata Relevant(const HeaderLookup& lookup) {
    Metadata out;
    if (!lookup) return out;
    for (const char* name : {kAuthorization, kApiKeyHeader, kRequestIdHeader, kTraceparent, kPublicTokenHeader}) {
        for (std::string_view v : lookup(name)) out.emplace_back(name, std::string(v));
    }
    return out;
}

}  // namespace

bool IsServerFault(grpc::StatusCode code) {
    return code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
           code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DATA_LOSS;
}

HeaderLookup LookupIn(const Metadata& headers) {
    return [&headers](std::string_view name) {
        std::vector<std::string_view> out;
        for (const auto& [k, v] : headers) {
            if (k == name) out.emplace_back(v);
        }
        return out;
    };
}

struct Admission::State {
    AdmissionSettings settings;
    JwtVerifier verifier;
    mutable JwtCache jwt_cache;  // thread-safe

    prometheus::Family<prometheus::Counter>& requests;
    prometheus::Family<prometheus::Counter>& auth_failures;
    prometheus::Family<prometheus::Counter>& authenticated;
    prometheus::Family<prometheus::Histogram>& upstream_seconds;
    prometheus::Family<prometheus::Counter>& authz_denied;
    prometheus::Family<prometheus::Counter>& ratelimited;
    prometheus::Counter& ratelimit_fail_open;
    prometheus::Counter& ratelimit_unavailable;
    prometheus::Histogram& limiter_seconds;
    mutable std::atomic<SteadyClock::rep> next_limiter_warning{0};

    mutable std::mutex labels_mutex;
    mutable std::set<std::string, std::less<>> dynamic_labels;

    State(AdmissionSettings s, common::Metrics& metrics)
        : settings(std::move(s)),
          verifier(settings.jwt),
          jwt_cache(settings.jwt_cache_entries, verifier.leeway()),
          requests(prometheus::BuildCounter()
                       .Name("crm_gateway_requests_total")
                       .Help("Calls handled by the gateway, by service, method and gRPC status code.")
                       .Register(metrics.registry())),
          auth_failures(prometheus::BuildCounter()
                            .Name("crm_gateway_auth_failures_total")
                            .Help("Calls refused as unauthenticated, by credential type (jwt, api_key, none) "
                                  "and reason.")
                            .Register(metrics.registry())),
          authenticated(prometheus::BuildCounter()
                            .Name("crm_gateway_authenticated_total")
                            .Help("Calls whose credential was verified, by credential type (jwt, api_key).")
                            .Register(metrics.registry())),
          upstream_seconds(prometheus::BuildHistogram()
                               .Name("crm_gateway_upstream_seconds")
                               .Help("Duration of backend calls made by the gateway, by service and method.")
                               .Register(metrics.registry())),
          authz_denied(
              prometheus::BuildCounter()
                  .Name("crm_gateway_authz_denied_total")
                  .Help("Authenticated calls refused by the policy (PERMISSION_DENIED), by service and method.")
                  .Register(metrics.registry())),
          ratelimited(prometheus::BuildCounter()
                          .Name("crm_gateway_ratelimited_total")
                          .Help("Calls refused because the tenant's rate limit was exceeded, by service.")
                          .Register(metrics.registry())),
          ratelimit_fail_open(prometheus::BuildCounter()
                                  .Name("crm_gateway_ratelimit_fail_open_total")
                                  .Help("Calls served without the revocation and rate-limit check because the rate "
                                        "limiter (Redis) was unavailable (CRM_RATE_LIMIT_FAIL_MODE=open).")
                                  .Register(metrics.registry())
                                  .Add({})),
          ratelimit_unavailable(
              prometheus::BuildCounter()
                  .Name("crm_gateway_ratelimit_unavailable_total")
                  .Help("Calls whose revocation and rate-limit check could not reach the rate limiter (Redis), by "
                        "fail mode: open (served unchecked) or closed (refused with UNAVAILABLE).")
                  .Register(metrics.registry())
                  .Add({{"fail_mode", settings.fail_mode == FailMode::kClosed ? "closed" : "open"}})),
          limiter_seconds(prometheus::BuildHistogram()
                              .Name("crm_gateway_ratelimit_check_seconds")
                              .Help("Duration of the revocation and rate-limit check (one Redis round trip).")
                              .Register(metrics.registry())
                              .Add({}, common::Metrics::LatencyBuckets())) {}

    CallLabels Labels(const MethodPath& path, bool authenticated) const {
        std::string service(path.service);
        std::string method(path.method);
        const auto* pool = google::protobuf::DescriptorPool::generated_pool();
        if (const auto* sd = pool->FindServiceByName(service)) {
            if (sd->FindMethodByName(method) != nullptr) return {std::move(service), std::move(method)};
            return {std::move(service), "other"};
        }
        const std::string key = service + "/" + method;
        std::lock_guard lock(labels_mutex);
        if (dynamic_labels.contains(key)) return {std::move(service), std::move(method)};
        if (authenticated && dynamic_labels.size() < kMaxDynamicLabels) {
            dynamic_labels.insert(key);
            return {std::move(service), std::move(method)};
        }
        return {"other", "other"};
    }

    // Logs that the limiter is unavailable, at most once per kLimiterWarnPeriod across all calls.
    void WarnLimiterUnavailable(const std::string& error) const {
        const auto now = SteadyClock::now().time_since_epoch().count();
        auto next = next_limiter_warning.load(std::memory_order_relaxed);
        if (now < next) return;
        const auto period = std::chrono::duration_cast<SteadyClock::duration>(kLimiterWarnPeriod).count();
        if (!next_limiter_warning.compare_exchange_strong(next, now + period)) return;
        const bool open = settings.fail_mode == FailMode::kOpen;
        common::log::Warn(open ? "rate limiter unavailable: serving calls without revocation and rate-limit checks"
                               : "rate limiter unavailable: refusing calls (CRM_RATE_LIMIT_FAIL_MODE=closed)",
                          {{"error", error}, {"fail_mode", open ? "open" : "closed"}});
    }

    void RefuseUnauthenticated(AdmissionResult& r, std::string failure, std::string detail, std::string message,
                               std::string reason) const {
        r.auth_failure = std::move(failure);
        r.auth_detail = std::move(detail);
        auth_failures.Add({{"credential", r.credential.empty() ? "none" : r.credential}, {"reason", r.auth_failure}})
            .Increment();
        r.refusal = Refusal{grpc::StatusCode::UNAUTHENTICATED, std::move(message), std::move(reason), {}};
    }

    void AdmitJwt(AdmissionResult& r, const MethodPath& path, const Metadata& client,
                  std::chrono::system_clock::time_point now) const {
        const Bearer bearer = ExtractBearer(client);
        if (bearer.error != BearerError::kNone) {
            r.labels = Labels(path, /*authenticated=*/false);
            const bool missing = bearer.error == BearerError::kMissing;
            RefuseUnauthenticated(r, missing ? "missing_token" : "malformed", "authorization header",
                                  missing ? "missing bearer token" : "invalid or expired token",
                                  missing ? "CREDENTIALS_MISSING" : "CREDENTIALS_INVALID");
            return;
        }
        r.credential = "jwt";
        JwtResult jwt;
        if (auto cached = jwt_cache.Find(bearer.token, now)) {
            jwt.claims = std::move(*cached);
        } else {
            jwt = verifier.Verify(bearer.token, now);
            if (jwt.ok() && settings.jwt_cache_entries > 0) jwt_cache.Insert(bearer.token, jwt.claims, now);
        }
        if (!jwt.ok()) {
            r.labels = Labels(path, /*authenticated=*/false);
            RefuseUnauthenticated(r, jwt.reason(), jwt.detail, "invalid or expired token", "CREDENTIALS_INVALID");
            return;
        }
        authenticated.Add({{"credential", r.credential}}).Increment();
        r.identity.tenant_id = std::move(jwt.claims.tenant);
        r.identity.user_id = std::move(jwt.claims.subject);
        r.identity.roles = std::move(jwt.claims.roles);
        r.labels = Labels(path, /*authenticated=*/true);
        Authorize(r, path, jwt.claims.jti.empty() ? std::string() : RevokedJtiKey(jwt.claims.jti), std::nullopt);
    }

    void AdmitApiKey(AdmissionResult& r, const MethodPath& path, const std::string& key) const {
        auto refuse = [&](const char* failure, const char* detail) {
            r.labels = Labels(path, /*authenticated=*/false);
            RefuseUnauthenticated(r, failure, detail, "invalid API key", "CREDENTIALS_INVALID");
        };
        const auto parsed = ParseApiKey(key);
        if (!parsed) return refuse("malformed", "not an API key");
        if (!settings.api_keys) return refuse("api_keys_disabled", "API keys are not enabled");
        std::optional<ApiKeyRecord> record;
        try {
            record = settings.api_keys->Find(parsed->id);
        } catch (const std::exception& e) {
            // Cannot tell a good key from a bad one: refuse, retryably, and say why in the log.
            r.labels = Labels(path, /*authenticated=*/false);
            r.auth_failure = "store_unavailable";
            r.auth_detail = e.what();
            auth_failures.Add({{"credential", "api_key"}, {"reason", r.auth_failure}}).Increment();
            r.refusal = Refusal{
                grpc::StatusCode::UNAVAILABLE, "service unavailable, retry later", "API_KEY_STORE_UNAVAILABLE", {}};
            return;
        }
        // The hash is compared even for an unknown id (against a fixed value), so timing tells nothing.
        static const std::string kNoHash(32, '\0');
        const bool match =
            common::ConstantTimeEquals(ApiKeySecretHash(parsed->secret), record ? record->secret_sha256 : kNoHash);
        if (!record) return refuse("unknown_key", "no such key id");
        if (!match) return refuse("bad_signature", "secret mismatch");
        if (record->revoked) {
            r.labels = Labels(path, /*authenticated=*/false);
            RefuseUnauthenticated(r, "revoked", "api key revoked", "API key revoked", "API_KEY_REVOKED");
            return;
        }
        authenticated.Add({{"credential", r.credential}}).Increment();
        r.identity.tenant_id = record->tenant_id;
        r.identity.user_id = "api-key:" + record->id;
        r.identity.key_id = record->id;
        r.identity.roles = record->roles;
        r.labels = Labels(path, /*authenticated=*/true);
        Authorize(r, path, RevokedApiKeyKey(record->id),
                  Bucket{ApiKeyBucketKey(record->id), record->limit.value_or(settings.default_api_key_limit)});
        if (r.admitted()) settings.api_keys->Used(record->tenant_id, record->id);
    }

    // A call made by following a public link: the token, verified for the method's purpose, names the tenant; the
    // call draws from that purpose's bucket of the tenant.
    void AdmitPublicToken(AdmissionResult& r, const MethodPath& path, const std::string& token,
                          std::chrono::system_clock::time_point now) const {
        r.credential = "public_token";
        const PublicTokenRule* rule = settings.policy.PublicTokenFor(path.service, path.method);
        if (rule == nullptr) {
            r.labels = Labels(path, /*authenticated=*/false);
            return RefuseUnauthenticated(r, "not_public", "method takes no public token", "missing bearer token",
                                         "CREDENTIALS_MISSING");
        }
        common::PublicTokenError why{};
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        auto verified = common::VerifyPublicToken(rule->purpose, token, common::kAnyFieldCount, settings.internal_key,
                                                  seconds, &why);
        if (!verified || !common::IsValidTenantId(verified->tenant)) {
            r.labels = Labels(path, /*authenticated=*/false);
            const char* failure = !verified && why == common::PublicTokenError::kExpired        ? "expired"
                                  : !verified && why == common::PublicTokenError::kBadSignature ? "bad_signature"
                                                                                                : "malformed";
            return RefuseUnauthenticated(r, failure, "public token (" + rule->purpose + ")", "invalid or expired link",
                                         "CREDENTIALS_INVALID");
        }
        authenticated.Add({{"credential", r.credential}}).Increment();
        r.identity.tenant_id = std::move(verified->tenant);
        r.identity.user_id = "public:" + rule->purpose;
        r.identity.roles = {"public"};
        r.labels = Labels(path, /*authenticated=*/true);
        Decide(r, /*permitted=*/true, {}, {Bucket{PublicBucketKey(r.identity.tenant_id, rule->purpose), rule->limit}});
    }

    // Authorization by the policy, then one limiter round trip for revocation and the tenant's bucket (only when the
    // call is permitted: a refused call takes no token).
    void Authorize(AdmissionResult& r, const MethodPath& path, std::string revoked_key,
                   std::optional<Bucket> key_bucket) const {
        const bool permitted = settings.policy.Allows(path.service, path.method, r.identity.roles);
        std::vector<Bucket> buckets;
        if (permitted) {
            const std::string& tenant = r.identity.tenant_id;
            buckets.push_back(
                {TenantBucketKey(tenant), settings.policy.TenantLimit(tenant).value_or(settings.default_rate_limit)});
            if (key_bucket) buckets.push_back(std::move(*key_bucket));
        }
        Decide(r, permitted, std::move(revoked_key), std::move(buckets));
    }

    void Decide(AdmissionResult& r, bool permitted, std::string revoked_key, std::vector<Bucket> buckets) const {
        LimitQuery query;
        query.revoked_key = std::move(revoked_key);
        query.buckets = std::move(buckets);
        LimitDecision decision;
        if (settings.limiter && (!query.revoked_key.empty() || !query.buckets.empty())) {
            const auto started = SteadyClock::now();
            decision = settings.limiter->Check(query);
            limiter_seconds.Observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
        }
        if (decision.verdict == LimitVerdict::kRevoked) {
            if (r.credential == "api_key") {
                RefuseUnauthenticated(r, "revoked", "api key revoked", "API key revoked", "API_KEY_REVOKED");
            } else {
                RefuseUnauthenticated(r, "revoked", "jti revoked", "token revoked", "TOKEN_REVOKED");
            }
            return;
        }
        if (!permitted) {
            authz_denied.Add({{"service", r.labels.service}, {"method", r.labels.method}}).Increment();
            r.refusal = Refusal{grpc::StatusCode::PERMISSION_DENIED, "permission denied", "PERMISSION_DENIED", {}};
            return;
        }
        switch (decision.verdict) {
            case LimitVerdict::kUnavailable:
                r.limiter_error = decision.error;
                ratelimit_unavailable.Increment();
                WarnLimiterUnavailable(decision.error);
                if (settings.fail_mode == FailMode::kClosed) {
                    r.refusal = Refusal{grpc::StatusCode::UNAVAILABLE,
                                        "service unavailable, retry later",
                                        "RATE_LIMITER_UNAVAILABLE",
                                        {}};
                    return;
                }
                ratelimit_fail_open.Increment();
                return;
            case LimitVerdict::kRateLimited: {
                ratelimited.Add({{"service", r.labels.service}}).Increment();
                r.refusal = Refusal{grpc::StatusCode::RESOURCE_EXHAUSTED, "rate limit exceeded, retry later",
                                    "RATE_LIMITED", std::max(decision.retry_after, std::chrono::milliseconds(1))};
                return;
            }
            default:
                return;
        }
    }
};

Admission::Admission(AdmissionSettings settings, common::Metrics& metrics)
    : state_(std::make_unique<State>(std::move(settings), metrics)) {}

Admission::~Admission() = default;

const AdmissionSettings& Admission::settings() const { return state_->settings; }

CallLabels Admission::LabelsFor(std::string_view method, bool authenticated) const {
    const std::string path = AsPath(method);
    const auto parsed = ParseMethodPath(path);
    if (!parsed) return {};
    return state_->Labels(*parsed, authenticated);
}

AdmissionResult Admission::Admit(const AdmissionRequest& request, std::chrono::system_clock::time_point now) const {
    const State& s = *state_;
    const Metadata client = Relevant(request.headers);
    AdmissionResult r;
    r.request_id = ChooseRequestId(client);
    r.identity.request_id = r.request_id;

    const std::string path_text = AsPath(request.method);
    const auto path = ParseMethodPath(path_text);
    if (!path) {
        r.refusal = Refusal{grpc::StatusCode::UNIMPLEMENTED, "malformed method name", "UNKNOWN_METHOD", {}};
        return r;
    }

    int api_key_headers = 0;
    int public_token_headers = 0;
    const std::string* api_key = nullptr;
    const std::string* public_token = nullptr;
    bool has_authorization = false;
    for (const auto& [k, v] : client) {
        if (k == kApiKeyHeader) {
            ++api_key_headers;
            api_key = &v;
        }
        if (k == kPublicTokenHeader) {
            ++public_token_headers;
            public_token = &v;
        }
        if (k == kAuthorization) has_authorization = true;
    }
    if (public_token_headers > 0) {
        r.credential = "public_token";
        if (public_token_headers > 1 || api_key_headers > 0 || has_authorization) {
            r.labels = s.Labels(*path, /*authenticated=*/false);
            s.RefuseUnauthenticated(r, "malformed", "several credentials", "invalid or expired link",
                                    "CREDENTIALS_INVALID");
            return r;
        }
        s.AdmitPublicToken(r, *path, *public_token, now);
    } else if (api_key_headers > 0) {
        r.credential = "api_key";
        if (api_key_headers > 1 || has_authorization) {
            // Two credentials: refuse rather than guess which one the caller meant.
            r.labels = s.Labels(*path, /*authenticated=*/false);
            s.RefuseUnauthenticated(r, "malformed", "several credentials", "invalid API key", "CREDENTIALS_INVALID");
            return r;
        }
        s.AdmitApiKey(r, *path, *api_key);
    } else {
        s.AdmitJwt(r, *path, client, now);
    }
    if (!r.admitted()) return r;

    r.backend_metadata = UpstreamMetadata(client, r.identity, s.settings.internal_key, now, path_text);
    for (const auto& [k, v] : r.backend_metadata) {
        if (k == kTraceparent) r.traceparent = v;
    }
    return r;
}

AdmissionResult Admission::Refuse(const AdmissionRequest& request, Refusal refusal) const {
    AdmissionResult r;
    r.request_id = ChooseRequestId(Relevant(request.headers));
    r.identity.request_id = r.request_id;
    r.refusal = std::move(refusal);
    return r;
}

void Admission::ObserveUpstream(const CallLabels& labels, std::chrono::steady_clock::duration duration) const {
    state_->upstream_seconds
        .Add({{"service", labels.service}, {"method", labels.method}}, common::Metrics::LatencyBuckets())
        .Observe(std::chrono::duration<double>(duration).count());
}

void Admission::RecordCall(const CallRecord& record) const {
    static const CallLabels kUnknown;
    const CallLabels& labels = record.admission != nullptr ? record.admission->labels : kUnknown;
    const char* code = common::StatusCodeName(record.code);
    state_->requests.Add({{"service", labels.service}, {"method", labels.method}, {"code", code}}).Increment();
    const auto level = IsServerFault(record.code) ? common::log::Level::kWarn : common::log::Level::kInfo;
    if (!common::log::Enabled(level)) return;
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.3f",
                  std::chrono::duration<double, std::milli>(record.duration).count());
    const std::string_view method = record.method.substr(0, kMaxLoggedPathBytes);
    common::log::Fields fields{
        {"rpc", std::string(method)},
        {"code", code},
        {"duration_ms", duration},
        {"transport", std::string(record.transport)},
        {"peer", std::string(record.peer.substr(0, kMaxLoggedPathBytes))},
        {"upstream", std::string(record.upstream)},
    };
    if (const AdmissionResult* a = record.admission) {
        fields.emplace_back("request_id", a->request_id);
        fields.emplace_back("tenant", a->identity.tenant_id);
        fields.emplace_back("user", a->identity.user_id);
        if (!a->identity.key_id.empty()) fields.emplace_back("key_id", a->identity.key_id);
        if (!a->credential.empty()) fields.emplace_back("credential", a->credential);
        if (!a->auth_failure.empty()) {
            fields.emplace_back("auth_failure", a->auth_failure);
            fields.emplace_back("auth_detail", a->auth_detail);
        }
        if (!a->limiter_error.empty()) fields.emplace_back("limiter_error", a->limiter_error);
    }
    if (!record.upstream_error.empty()) fields.emplace_back("upstream_error", std::string(record.upstream_error));
    common::log::Write(level, "rpc", fields);
}

}  // namespace crm::gateway
