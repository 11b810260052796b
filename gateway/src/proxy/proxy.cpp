#include "proxy/proxy.hpp"

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
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "proxy/headers.hpp"

namespace crm::gateway {
namespace {

using SysClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxReconnectBackoffMs = 2000;

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

// A refusal by the gateway itself, with google.rpc details as the services send them: ErrorInfo (a stable reason,
// domain crm.gateway) and, when given, RetryInfo.
// Whether a method is unary (one request, one response), by its descriptor in the linked protos. Unknown methods take
// the streaming path, which proxies any shape.
bool IsUnary(const MethodPath& path) {
    std::string full(path.service);
    full += '.';
    full += path.method;
    const auto* method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
    return method != nullptr && !method->client_streaming() && !method->server_streaming();
}

}  // namespace

grpc::Status ToGrpcStatus(const Refusal& refusal) {
    google::rpc::Status details;
    details.set_code(static_cast<int>(refusal.code));
    details.set_message(refusal.message);
    google::rpc::ErrorInfo info;
    info.set_reason(refusal.reason);
    info.set_domain("crm.gateway");
    details.add_details()->PackFrom(info);
    if (refusal.retry_after.count() > 0) {
        google::rpc::RetryInfo retry;
        retry.mutable_retry_delay()->set_seconds(refusal.retry_after.count() / 1000);
        retry.mutable_retry_delay()->set_nanos(static_cast<int>(refusal.retry_after.count() % 1000) * 1000000);
        details.add_details()->PackFrom(retry);
    }
    return grpc::Status(refusal.code, refusal.message, details.SerializeAsString());
}

namespace {}  // namespace

std::string RetryServiceConfig(const ProxySettings& settings, std::string_view package) {
    if (settings.retry_attempts < 2) return {};
    nlohmann::json names = nlohmann::json::array();
    for (const std::string& m : settings.retryable_methods) {
        const auto slash = m.find('/');
        if (slash == std::string::npos) continue;
        const std::string service = m.substr(0, slash);
        // The method's service must be in the route's package (pkg.Service, not a deeper package).
        if (service.size() <= package.size() || service.compare(0, package.size(), package) != 0 ||
            service[package.size()] != '.' || service.find('.', package.size() + 1) != std::string::npos) {
            continue;
        }
        names.push_back({{"service", service}, {"method", m.substr(slash + 1)}});
    }
    if (names.empty()) return {};
    const double initial = std::chrono::duration<double>(settings.retry_initial_backoff).count();
    char initial_text[32], max_text[32];
    std::snprintf(initial_text, sizeof initial_text, "%.3fs", initial);
    std::snprintf(max_text, sizeof max_text, "%.3fs", initial * 4);
    nlohmann::json policy = {{"maxAttempts", settings.retry_attempts},
                             {"initialBackoff", initial_text},
                             {"maxBackoff", max_text},
                             {"backoffMultiplier", 2},
                             {"retryableStatusCodes", {"UNAVAILABLE"}}};
    nlohmann::json config = {{"methodConfig", {{{"name", names}, {"retryPolicy", policy}}}}};
    return config.dump();
}

struct Proxy::Core {
    ProxySettings settings;
    std::shared_ptr<const Admission> admission;
    std::map<std::string, Backend, std::less<>> backends;  // by package

    std::atomic<int> active{0};
    std::mutex idle_mutex;
    std::condition_variable idle;

    Core(ProxySettings s, std::shared_ptr<const Admission> a) : settings(std::move(s)), admission(std::move(a)) {
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
        if (!settings.upstream_server_name.empty()) args.SetSslTargetNameOverride(settings.upstream_server_name);
        const auto credentials = common::MakeChannelCredentials(settings.upstream_tls);
        for (const auto& route : settings.routes.routes()) {
            Backend b;
            b.route = route;
            grpc::ChannelArguments route_args = args;
            if (auto config = RetryServiceConfig(settings, route.package); !config.empty()) {
                route_args.SetServiceConfigJSON(config);
            }
            b.channel = grpc::CreateCustomChannel(route.target, credentials, route_args);
            b.channel->GetState(/*try_to_connect=*/true);
            b.stub = std::make_unique<grpc::GenericStub>(b.channel);
            backends.emplace(route.package, std::move(b));
        }
    }

    const Backend* Find(std::string_view package) const {
        auto it = backends.find(package);
        return it == backends.end() ? nullptr : &it->second;
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
            common::log::Error("gateway call setup failed",
                               {{"error", e.what()}, {"request_id", admission_.request_id}});
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
        const Admission& admission = *core_->admission;
        const AdmissionRequest request{path_, LookupIn(client), peer_};

        const auto path = ParseMethodPath(path_);
        backend_ = path ? core_->Find(path->package) : nullptr;
        if (backend_ == nullptr) {
            admission_ = admission.Refuse(
                request, Refusal{grpc::StatusCode::UNIMPLEMENTED,
                                 path ? "unknown service " + std::string(path->service) : "malformed method name",
                                 "UNKNOWN_SERVICE",
                                 {}});
        } else {
            admission_ = admission.Admit(request, SysClock::now());
        }
        ctx_->AddInitialMetadata(kRequestIdHeader, admission_.request_id);
        if (!admission_.admitted()) {
            const Refusal& refusal = *admission_.refusal;
            if (refusal.retry_after.count() > 0) {
                ctx_->AddTrailingMetadata("retry-after", std::to_string(refusal.RetryAfterSeconds()));
            }
            // Unknown services keep a plain status (no gateway ErrorInfo): that is what a server without the service
            // answers.
            FinishEarly(refusal.code == grpc::StatusCode::UNIMPLEMENTED ? grpc::Status(refusal.code, refusal.message)
                                                                        : ToGrpcStatus(refusal));
            return;
        }

        up_context_.set_deadline(UpstreamDeadline(ctx_->deadline(), SysClock::now(), core_->settings.default_deadline));
        for (const auto& [k, v] : admission_.backend_metadata) up_context_.AddMetadata(k, v);

        upstream_start_ = SteadyClock::now();
        if (core_->settings.is_unary ? core_->settings.is_unary(path_) : IsUnary(*path)) {
            // One request, one response: read the request, make one upstream call (a single batch of operations),
            // then write the response and the status together. Two references: the downstream reactor's OnDone and
            // the upstream call's completion.
            unary_ = true;
            refs_.store(2, std::memory_order_relaxed);
            upstream_started_ = true;
            down_.StartRead(&request_);
            return;
        }
        backend_->stub->PrepareBidiStreamingCall(&up_context_, path_, grpc::StubOptions(), &up_);
        up_.AddMultipleHolds(2);                    // request path, response path
        refs_.store(2, std::memory_order_relaxed);  // both reactors must be done before the call is freed
        upstream_started_ = true;
        up_.StartCall();
        down_.StartRead(&request_);
    }

    // --- request path ---

    void DownReadDone(bool ok) {
        if (unary_) {
            UnaryRequestRead(ok);
            return;
        }
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
        if (unary_) return;  // StartWriteAndFinish: its end is OnDone
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

    // The status the client gets for the backend's `status`, with the backend's trailing metadata passed on.
    grpc::Status UpstreamStatus(const grpc::Status& status, bool backend_answered) {
        core_->admission->ObserveUpstream(admission_.labels, SteadyClock::now() - upstream_start_);
        grpc::Status final_status = status;
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE && status.error_details().empty() &&
            !backend_answered) {
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
        return final_status;
    }

    void UpDone(const grpc::Status& status) {
        const grpc::Status final_status = UpstreamStatus(status, got_initial_metadata_);
        Complete(final_status);
        down_.Finish(final_status);
        Release();
    }

    // --- unary calls ---

    void UnaryRequestRead(bool ok) {
        if (!ok) {
            // The client cancelled, or half-closed without a request: nothing goes upstream.
            upstream_started_ = false;
            FinishEarly(ctx_->IsCancelled() ? grpc::Status::CANCELLED
                                            : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
            Release();  // the upstream call's reference: it never starts
            return;
        }
        backend_->stub->UnaryCall(&up_context_, path_, grpc::StubOptions(), &request_, &response_,
                                  [this](grpc::Status status) { UnaryDone(status); });
    }

    void UnaryDone(const grpc::Status& status) {
        const Metadata initial = ToMetadata(up_context_.GetServerInitialMetadata());
        const grpc::Status final_status = UpstreamStatus(status, !initial.empty());
        for (const auto& [k, v] : ClientVisibleMetadata(initial)) ctx_->AddInitialMetadata(k, v);
        Complete(final_status);
        if (final_status.ok()) {
            down_.StartWriteAndFinish(&response_, grpc::WriteOptions(), final_status);
        } else {
            down_.Finish(final_status);
        }
        Release();
    }

    // --- completion ---

    void FinishEarly(const grpc::Status& status) {
        Complete(status);
        down_.Finish(status);
    }

    // Metrics and the access log line, once per call.
    void Complete(const grpc::Status& status) {
        core_->admission->RecordCall({.admission = &admission_,
                                      .method = path_,
                                      .peer = peer_,
                                      .transport = "grpc",
                                      .code = status.error_code(),
                                      .duration = SteadyClock::now() - start_,
                                      .upstream = upstream_started_ ? backend_->route.target : std::string_view(),
                                      .upstream_error = upstream_error_});
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
    std::string peer_ = ctx_->peer();
    AdmissionResult admission_;
    std::string upstream_error_;
    const Backend* backend_ = nullptr;
    bool upstream_started_ = false;
    bool unary_ = false;                 // set before the first read; then only read
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

Proxy::Proxy(ProxySettings settings, std::shared_ptr<const Admission> admission)
    : core_(std::make_shared<Core>(std::move(settings), std::move(admission))),
      service_(std::make_unique<GenericService>(core_)) {}

Proxy::~Proxy() = default;

grpc::CallbackGenericService* Proxy::service() { return service_.get(); }

int Proxy::active_calls() const { return core_->active.load(); }

std::shared_ptr<grpc::Channel> Proxy::channel(std::string_view package) const {
    const Backend* b = core_->Find(package);
    return b == nullptr ? nullptr : b->channel;
}

bool Proxy::WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(core_->idle_mutex);
    return core_->idle.wait_for(lock, timeout, [&] { return core_->active.load() == 0; });
}

}  // namespace crm::gateway
