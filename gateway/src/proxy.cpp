#include "proxy.hpp"

#include <google/protobuf/descriptor.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "headers.hpp"

namespace crm::gateway {
namespace {

using SysClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

// Method labels outside the linked descriptors are client-chosen strings: only this many distinct ones, and only
// from authenticated callers, become label values; the rest are counted as "other".
constexpr size_t kMaxDynamicLabels = 256;
constexpr size_t kMaxLoggedPathBytes = 200;
constexpr int kMaxReconnectBackoffMs = 2000;
// At most one warning per this period while the rate limiter is unavailable.
constexpr auto kLimiterWarnPeriod = std::chrono::seconds(10);

Metadata ToMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
    Metadata out;
    out.reserve(md.size());
    for (const auto& [k, v] : md) out.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    return out;
}

struct Backend {
    Route route;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
};

struct Labels {
    std::string service;
    std::string method;
};

bool IsServerFault(grpc::StatusCode code) {
    return code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
           code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DATA_LOSS;
}

// A refusal by the gateway itself, with google.rpc details as the services send them: ErrorInfo (a stable reason,
// domain crm.gateway) and, when given, RetryInfo.
grpc::Status Refusal(grpc::StatusCode code, const std::string& message, const std::string& reason,
                     std::chrono::milliseconds retry_delay = std::chrono::milliseconds(0)) {
    google::rpc::Status details;
    details.set_code(static_cast<int>(code));
    details.set_message(message);
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain("crm.gateway");
    details.add_details()->PackFrom(info);
    if (retry_delay.count() > 0) {
        google::rpc::RetryInfo retry;
        retry.mutable_retry_delay()->set_seconds(retry_delay.count() / 1000);
        retry.mutable_retry_delay()->set_nanos(static_cast<int>(retry_delay.count() % 1000) * 1000000);
        details.add_details()->PackFrom(retry);
    }
    return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace

struct Proxy::Core {
    ProxySettings settings;
    JwtVerifier verifier;
    std::map<std::string, Backend, std::less<>> backends;  // by package

    prometheus::Family<prometheus::Counter>& requests;
    prometheus::Family<prometheus::Counter>& auth_failures;
    prometheus::Family<prometheus::Histogram>& upstream_seconds;
    prometheus::Family<prometheus::Counter>& authz_denied;
    prometheus::Family<prometheus::Counter>& ratelimited;
    prometheus::Counter& ratelimit_fail_open;
    prometheus::Histogram& limiter_seconds;
    std::atomic<SteadyClock::rep> next_limiter_warning{0};

    std::mutex labels_mutex;
    std::set<std::string, std::less<>> dynamic_labels;

    std::atomic<int> active{0};
    std::mutex idle_mutex;
    std::condition_variable idle;

    Core(ProxySettings s, common::Metrics& metrics)
        : settings(std::move(s)),
          verifier(settings.jwt),
          requests(prometheus::BuildCounter()
                       .Name("crm_gateway_requests_total")
                       .Help("Calls handled by the gateway, by service, method and gRPC status code.")
                       .Register(metrics.registry())),
          auth_failures(prometheus::BuildCounter()
                            .Name("crm_gateway_auth_failures_total")
                            .Help("Calls refused as unauthenticated, by reason.")
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
          limiter_seconds(prometheus::BuildHistogram()
                              .Name("crm_gateway_ratelimit_check_seconds")
                              .Help("Duration of the revocation and rate-limit check (one Redis round trip).")
                              .Register(metrics.registry())
                              .Add({}, common::Metrics::LatencyBuckets())) {
        grpc::ChannelArguments args;
        const int connect_ms = static_cast<int>(settings.connect_timeout.count());
        // The minimum reconnect backoff is also the connect timeout of each attempt.
        args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, connect_ms);
        args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, connect_ms);
        args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, std::max(connect_ms, kMaxReconnectBackoffMs));
        args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
        args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
        // Backends are trusted and bound their own responses (page caps); the gateway passes them through.
        args.SetMaxReceiveMessageSize(-1);
        for (const auto& route : settings.routes.routes()) {
            Backend b;
            b.route = route;
            b.channel = grpc::CreateCustomChannel(route.target, grpc::InsecureChannelCredentials(), args);
            b.channel->GetState(/*try_to_connect=*/true);
            b.stub = std::make_unique<grpc::GenericStub>(b.channel);
            backends.emplace(route.package, std::move(b));
        }
    }

    const Backend* Find(std::string_view package) const {
        auto it = backends.find(package);
        return it == backends.end() ? nullptr : &it->second;
    }

    Labels LabelsFor(const MethodPath& path, bool authenticated) {
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
    void WarnLimiterUnavailable(const std::string& error) {
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

    void CallStarted() { active.fetch_add(1, std::memory_order_relaxed); }
    void CallEnded() {
        if (active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard lock(idle_mutex);
            idle.notify_all();
        }
    }
};

namespace {

// One proxied call: the downstream server reactor (client -> gateway) and the upstream client reactor
// (gateway -> backend), pumping messages one at a time in each direction.
//
// Request path:  down.Read -> up.Write -> down.Read ... -> (client half-close) up.WritesDone
// Response path: up.ReadInitialMetadata -> down.SendInitialMetadata, up.Read -> down.Write -> up.Read ...
// The upstream status ends the call: its trailing metadata is copied, down.Finish(status).
//
// Operations on the upstream stream started from downstream reactions need holds (gRPC may otherwise run the
// upstream OnDone while a downstream callback is about to use it): one hold per direction, released exactly once
// when that direction can no longer touch the upstream stream. Downstream operations started from upstream reactions
// are safe without holds: down.Finish is only called from the upstream OnDone, after every upstream reaction.
// No gRPC operation is started while mutex_ is held.
class ProxyCall {
  public:
    ProxyCall(std::shared_ptr<Proxy::Core> core, grpc::GenericCallbackServerContext* ctx)
        : core_(std::move(core)), ctx_(ctx), down_(*this), up_(*this) {
        core_->CallStarted();
    }

    grpc::ServerGenericBidiReactor* reactor() { return &down_; }

    void Start() {
        try {
            StartOrRefuse();
        } catch (const std::exception& e) {
            // Only reachable before the upstream call started (nothing after StartCall throws).
            common::log::Error("gateway call setup failed", {{"error", e.what()}, {"request_id", request_id_}});
            FinishEarly(grpc::Status(grpc::StatusCode::INTERNAL, "internal error"));
        }
    }

  private:
    class Down final : public grpc::ServerGenericBidiReactor {
      public:
        explicit Down(ProxyCall& call) : call_(call) {}
        void OnReadDone(bool ok) override { call_.DownReadDone(ok); }
        void OnWriteDone(bool ok) override { call_.DownWriteDone(ok); }
        void OnCancel() override { call_.up_context_.TryCancel(); }
        void OnDone() override { call_.Release(); }

      private:
        ProxyCall& call_;
    };

    class Up final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
      public:
        explicit Up(ProxyCall& call) : call_(call) {}
        void OnReadInitialMetadataDone(bool ok) override { call_.UpInitialMetadataDone(ok); }
        void OnReadDone(bool ok) override { call_.UpReadDone(ok); }
        void OnWriteDone(bool ok) override { call_.UpSendDone(ok); }
        void OnWritesDoneDone(bool ok) override { call_.UpSendDone(false); }
        void OnDone(const grpc::Status& status) override { call_.UpDone(status); }

      private:
        ProxyCall& call_;
    };

    void StartOrRefuse() {
        path_ = ctx_->method();
        const Metadata client = ToMetadata(ctx_->client_metadata());
        request_id_ = ChooseRequestId(client);
        ctx_->AddInitialMetadata(kRequestIdHeader, request_id_);

        const auto path = ParseMethodPath(path_);
        backend_ = path ? core_->Find(path->package) : nullptr;
        if (backend_ == nullptr) {
            labels_ = {"unknown", "unknown"};
            FinishEarly(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                     path ? "unknown service " + std::string(path->service) : "malformed method name"));
            return;
        }

        const Bearer bearer = ExtractBearer(client);
        JwtResult jwt;
        if (bearer.error == BearerError::kNone) jwt = core_->verifier.Verify(bearer.token, SysClock::now());
        if (bearer.error != BearerError::kNone || !jwt.ok()) {
            auth_failure_ = bearer.error == BearerError::kMissing     ? "missing_token"
                            : bearer.error == BearerError::kMalformed ? "malformed"
                                                                      : jwt.reason();
            auth_detail_ = bearer.error == BearerError::kNone ? jwt.detail : "authorization header";
            core_->auth_failures.Add({{"reason", auth_failure_}}).Increment();
            labels_ = core_->LabelsFor(*path, /*authenticated=*/false);
            FinishEarly(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, bearer.error == BearerError::kMissing
                                                                            ? "missing bearer token"
                                                                            : "invalid or expired token"));
            return;
        }
        tenant_ = jwt.claims.tenant;
        user_ = jwt.claims.subject;
        labels_ = core_->LabelsFor(*path, /*authenticated=*/true);
        if (!Admit(*path, jwt.claims)) return;

        common::Identity identity;
        identity.tenant_id = jwt.claims.tenant;
        identity.user_id = jwt.claims.subject;
        identity.roles = jwt.claims.roles;
        identity.request_id = request_id_;
        const auto now = SysClock::now();
        up_context_.set_deadline(UpstreamDeadline(ctx_->deadline(), now, core_->settings.default_deadline));
        for (const auto& [k, v] : UpstreamMetadata(client, identity, core_->settings.internal_key, now)) {
            up_context_.AddMetadata(k, v);
        }

        upstream_start_ = SteadyClock::now();
        backend_->stub->PrepareBidiStreamingCall(&up_context_, path_, grpc::StubOptions(), &up_);
        up_.AddMultipleHolds(2);                    // request path, response path
        refs_.store(2, std::memory_order_relaxed);  // both reactors must be done before the call is freed
        upstream_started_ = true;
        up_.StartCall();
        down_.StartRead(&request_);
    }

    // Authorization by the policy, then one limiter round trip for revocation and the tenant's bucket (only when the
    // call is permitted: a refused call takes no token). Precedence: revoked (401), not permitted (403), limiter
    // unavailable in closed mode (503), rate limited (429). False when the call was refused and finished.
    bool Admit(const MethodPath& path, const JwtClaims& claims) {
        const ProxySettings& s = core_->settings;
        const bool permitted = s.policy.Allows(path.service, path.method, claims.roles);
        LimitQuery query;
        if (!claims.jti.empty()) query.revoked_key = RevokedJtiKey(claims.jti);
        if (permitted) {
            query.buckets.push_back(
                {TenantBucketKey(claims.tenant), s.policy.TenantLimit(claims.tenant).value_or(s.default_rate_limit)});
        }
        LimitDecision decision;
        if (s.limiter && (!query.revoked_key.empty() || !query.buckets.empty())) {
            const auto started = SteadyClock::now();
            decision = s.limiter->Check(query);
            core_->limiter_seconds.Observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
        }
        if (decision.verdict == LimitVerdict::kRevoked) {
            auth_failure_ = "revoked";
            auth_detail_ = "jti revoked";
            core_->auth_failures.Add({{"reason", auth_failure_}}).Increment();
            FinishEarly(Refusal(grpc::StatusCode::UNAUTHENTICATED, "token revoked", "TOKEN_REVOKED"));
            return false;
        }
        if (!permitted) {
            core_->authz_denied.Add({{"service", labels_.service}, {"method", labels_.method}}).Increment();
            FinishEarly(Refusal(grpc::StatusCode::PERMISSION_DENIED, "permission denied", "PERMISSION_DENIED"));
            return false;
        }
        switch (decision.verdict) {
            case LimitVerdict::kUnavailable:
                limiter_error_ = decision.error;
                core_->WarnLimiterUnavailable(decision.error);
                if (s.fail_mode == FailMode::kClosed) {
                    FinishEarly(Refusal(grpc::StatusCode::UNAVAILABLE, "service unavailable, retry later",
                                        "RATE_LIMITER_UNAVAILABLE"));
                    return false;
                }
                core_->ratelimit_fail_open.Increment();
                return true;
            case LimitVerdict::kRateLimited: {
                core_->ratelimited.Add({{"service", labels_.service}}).Increment();
                const auto seconds = (decision.retry_after.count() + 999) / 1000;
                ctx_->AddTrailingMetadata("retry-after", std::to_string(std::max<long long>(1, seconds)));
                FinishEarly(Refusal(grpc::StatusCode::RESOURCE_EXHAUSTED, "rate limit exceeded, retry later",
                                    "RATE_LIMITED", decision.retry_after));
                return false;
            }
            default:
                return true;
        }
    }

    // --- request path ---

    void DownReadDone(bool ok) {
        const bool cancelled = !ok && ctx_->IsCancelled();
        {
            std::lock_guard lock(mutex_);
            if (request_closed_) return;  // the backend already ended the call
            if (cancelled) {
                request_closed_ = true;  // no half-close: the cancellation reaches the backend instead
            } else {
                up_sending_ = true;
            }
        }
        if (cancelled) {
            up_.RemoveHold();
        } else if (ok) {
            up_.StartWrite(&request_);
        } else {
            up_.StartWritesDone();  // the client half-closed
        }
    }

    // After an upstream write (ok as reported) or after the half-close (called with ok = false: nothing more to send).
    void UpSendDone(bool ok) {
        bool read_more = false;
        bool release = false;
        {
            std::lock_guard lock(mutex_);
            up_sending_ = false;
            if (ok && !upstream_over_) {
                read_more = true;
            } else if (!request_closed_) {
                request_closed_ = true;
                release = true;
            }
        }
        if (read_more) down_.StartRead(&request_);
        if (release) up_.RemoveHold();
    }

    // --- response path ---

    void UpInitialMetadataDone(bool ok) {
        if (!ok) {  // failed call or trailers-only response: the status follows in OnDone
            UpstreamOver();
            return;
        }
        got_initial_metadata_ = true;
        for (const auto& [k, v] : ClientVisibleMetadata(ToMetadata(up_context_.GetServerInitialMetadata()))) {
            ctx_->AddInitialMetadata(k, v);
        }
        down_.StartSendInitialMetadata();
        up_.StartRead(&response_);
    }

    void UpReadDone(bool ok) {
        if (!ok) {
            UpstreamOver();
            return;
        }
        down_.StartWrite(&response_);
    }

    void DownWriteDone(bool ok) {
        if (ok) {
            up_.StartRead(&response_);
            return;
        }
        // The client went away: stop the backend call too.
        up_context_.TryCancel();
        UpstreamOver();
    }

    // No more upstream reads: release the response hold, and the request hold unless a write is in flight (its
    // completion releases it).
    void UpstreamOver() {
        bool release_request = false;
        bool release_response = false;
        {
            std::lock_guard lock(mutex_);
            upstream_over_ = true;
            release_response = !response_closed_;
            response_closed_ = true;
            if (!request_closed_ && !up_sending_) {
                request_closed_ = true;
                release_request = true;
            }
        }
        if (release_request) up_.RemoveHold();
        if (release_response) up_.RemoveHold();
    }

    void UpDone(const grpc::Status& status) {
        const double seconds = std::chrono::duration<double>(SteadyClock::now() - upstream_start_).count();
        core_->upstream_seconds
            .Add({{"service", labels_.service}, {"method", labels_.method}}, common::Metrics::LatencyBuckets())
            .Observe(seconds);
        grpc::Status final_status = status;
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE && status.error_details().empty() &&
            !got_initial_metadata_) {
            // Raised by the gateway's own channel (connection refused, ...): its text names internal addresses.
            upstream_error_ = status.error_message();
            final_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "service unavailable, retry later");
        }
        if (status.error_code() == grpc::StatusCode::CANCELLED && ctx_->deadline() <= SysClock::now()) {
            // The client's deadline passed and cancelled both calls; count it as what it is.
            final_status = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded");
        }
        for (const auto& [k, v] : ClientVisibleMetadata(ToMetadata(up_context_.GetServerTrailingMetadata()))) {
            ctx_->AddTrailingMetadata(k, v);
        }
        Complete(final_status);
        down_.Finish(final_status);
        Release();
    }

    // --- completion ---

    void FinishEarly(const grpc::Status& status) {
        Complete(status);
        down_.Finish(status);
    }

    // Metrics and the access log line, once per call.
    void Complete(const grpc::Status& status) {
        const char* code = common::StatusCodeName(status.error_code());
        core_->requests.Add({{"service", labels_.service}, {"method", labels_.method}, {"code", code}}).Increment();
        const auto level = IsServerFault(status.error_code()) ? common::log::Level::kWarn : common::log::Level::kInfo;
        if (!common::log::Enabled(level)) return;
        char duration[32];
        std::snprintf(duration, sizeof duration, "%.3f",
                      std::chrono::duration<double, std::milli>(SteadyClock::now() - start_).count());
        common::log::Fields fields{
            {"rpc", path_.size() > kMaxLoggedPathBytes ? path_.substr(0, kMaxLoggedPathBytes) : path_},
            {"code", code},
            {"tenant", tenant_},
            {"user", user_},
            {"request_id", request_id_},
            {"duration_ms", duration},
            {"upstream", upstream_started_ ? backend_->route.target : ""},
        };
        if (!auth_failure_.empty()) {
            fields.emplace_back("auth_failure", auth_failure_);
            fields.emplace_back("auth_detail", auth_detail_);
        }
        if (!upstream_error_.empty()) fields.emplace_back("upstream_error", upstream_error_);
        if (!limiter_error_.empty()) fields.emplace_back("limiter_error", limiter_error_);
        common::log::Write(level, "rpc", fields);
    }

    void Release() {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            auto core = std::move(core_);
            delete this;
            core->CallEnded();
        }
    }

    std::shared_ptr<Proxy::Core> core_;
    grpc::GenericCallbackServerContext* const ctx_;
    Down down_;
    Up up_;
    grpc::ClientContext up_context_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;

    const SteadyClock::time_point start_ = SteadyClock::now();
    SteadyClock::time_point upstream_start_;
    std::string path_;
    std::string request_id_;
    std::string tenant_;
    std::string user_;
    std::string auth_failure_;
    std::string auth_detail_;
    std::string upstream_error_;
    std::string limiter_error_;  // the limiter was unavailable (served in open mode, refused in closed mode)
    Labels labels_;
    const Backend* backend_ = nullptr;
    bool upstream_started_ = false;
    bool got_initial_metadata_ = false;  // upstream reactions only; read in UpDone, after all of them
    std::atomic<int> refs_{1};

    std::mutex mutex_;
    bool up_sending_ = false;       // an upstream write or half-close is in flight
    bool request_closed_ = false;   // request hold released: the request path no longer touches upstream
    bool response_closed_ = false;  // response hold released
    bool upstream_over_ = false;    // no more upstream reads: the backend ended the call or the client left
};

class GenericService final : public grpc::CallbackGenericService {
  public:
    explicit GenericService(std::shared_ptr<Proxy::Core> core) : core_(std::move(core)) {}

    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
        auto* call = new ProxyCall(core_, ctx);
        call->Start();
        return call->reactor();
    }

  private:
    std::shared_ptr<Proxy::Core> core_;
};

}  // namespace

Proxy::Proxy(ProxySettings settings, common::Metrics& metrics)
    : core_(std::make_shared<Core>(std::move(settings), metrics)), service_(std::make_unique<GenericService>(core_)) {}

Proxy::~Proxy() = default;

grpc::CallbackGenericService* Proxy::service() { return service_.get(); }

int Proxy::active_calls() const { return core_->active.load(); }

bool Proxy::WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(core_->idle_mutex);
    return core_->idle.wait_for(lock, timeout, [&] { return core_->active.load() == 0; });
}

}  // namespace crm::gateway
