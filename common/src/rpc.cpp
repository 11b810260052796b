#include "crm/common/rpc.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <pqxx/except>
#include <stdexcept>
#include <unordered_map>

#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "current_call.hpp"

namespace crm::common {

std::chrono::milliseconds RequestContext::Remaining(std::chrono::milliseconds cap) const {
    if (deadline == std::chrono::system_clock::time_point::max()) return cap;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::system_clock::now());
    if (left.count() < 0) return std::chrono::milliseconds(0);
    return std::min(left, cap);
}

struct RpcRuntime::Impl {
    Metrics& metrics;
    std::mutex mutex;
    // Counters and histograms are looked up once per (method, code); prometheus-cpp's Add() takes a lock too.
    std::unordered_map<std::string, prometheus::Counter*> handled;
    std::unordered_map<std::string, prometheus::Histogram*> seconds;

    explicit Impl(Metrics& m) : metrics(m) {}

    prometheus::Counter& Handled(const std::string& service, const char* method, const char* code) {
        std::string key = std::string(method) + "|" + code;
        std::lock_guard lock(mutex);
        auto it = handled.find(key);
        if (it != handled.end()) return *it->second;
        auto& c = metrics.rpc_handled.Add({{"service", service}, {"method", method}, {"code", code}});
        handled.emplace(key, &c);
        return c;
    }

    prometheus::Histogram& Seconds(const std::string& service, const char* method) {
        std::lock_guard lock(mutex);
        auto it = seconds.find(method);
        if (it != seconds.end()) return *it->second;
        auto& h = metrics.rpc_seconds.Add({{"service", service}, {"method", method}}, Metrics::LatencyBuckets());
        seconds.emplace(method, &h);
        return h;
    }
};

RpcRuntime::RpcRuntime(RpcSettings settings, Metrics& metrics)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>(metrics)) {}

RpcRuntime::~RpcRuntime() = default;

namespace detail {
namespace {
thread_local std::optional<RequestContext> current_call;
thread_local std::string current_method;  // full name, "/crm.contacts.v1.ContactsService/CreateContact"
RefusalRecorder refusal_recorder;         // set once at start-up, before the server serves
}  // namespace

const RequestContext* CurrentCall() { return current_call ? &*current_call : nullptr; }
void SetCurrentCall(const RequestContext& rc) { current_call = rc; }
void ClearCurrentCall() {
    current_call.reset();
    current_method.clear();
}
void SetRefusalRecorder(RefusalRecorder recorder) { refusal_recorder = std::move(recorder); }
}  // namespace detail

RequestContext RpcRuntime::Begin(grpc::ServerContext* sc) const {
    RequestContext rc;
    if (settings_.require_identity) {
        std::map<std::string, std::string> md;
        for (const auto& [k, v] : sc->client_metadata()) {
            std::string key(k.data(), k.size());
            if (key.rfind("x-crm-", 0) == 0) md[key] = std::string(v.data(), v.size());
        }
        const std::string method = CalledMethod(sc);
        if (method.empty()) {
            // A server built without MakeCalledMethodRecorder: no signature can be checked against the call.
            log::Error("the called method is unknown (MakeCalledMethodRecorder not registered on the server)");
            throw std::logic_error("called method unknown");
        }
        static_cast<Identity&>(rc) =
            VerifyIdentity(md, settings_.internal_key, method, std::chrono::system_clock::now());
    }
    rc.deadline = sc->deadline();
    if (rc.deadline <= std::chrono::system_clock::now()) throw ApiError::DeadlineExceeded("deadline already passed");
    if (sc->IsCancelled()) throw ApiError(grpc::StatusCode::CANCELLED, "call cancelled", "CANCELLED");
    // The caller as the thread's current call (Handle sets rc.rpc on its own copy; the recorder gives it here).
    RequestContext current = rc;
    const std::string called = CalledMethod(sc);
    current.rpc = called.substr(called.rfind('/') + 1);
    detail::SetCurrentCall(current);
    detail::current_method = called;
    return rc;
}

namespace {

// A write: a method of the linked descriptors not declared NO_SIDE_EFFECTS (every read of the suite is).
bool IsWriteMethod(const std::string& full_method) {
    if (full_method.size() < 2 || full_method[0] != '/') return false;
    std::string name = full_method.substr(1);
    const auto slash = name.find('/');
    if (slash == std::string::npos) return false;
    name[slash] = '.';
    const auto* method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
    return method && method->options().idempotency_level() != google::protobuf::MethodOptions::NO_SIDE_EFFECTS;
}

bool IsRefusal(grpc::StatusCode code) {
    switch (code) {
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::PERMISSION_DENIED:
        case grpc::StatusCode::NOT_FOUND:
        case grpc::StatusCode::FAILED_PRECONDITION:
        case grpc::StatusCode::ALREADY_EXISTS:
        case grpc::StatusCode::ABORTED:
        case grpc::StatusCode::OUT_OF_RANGE:
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return true;
        default:
            return false;
    }
}

}  // namespace

namespace {

grpc::Status FromApiError(const ApiError& e, const std::string& service) {
    google::rpc::Status details;
    details.set_code(static_cast<int>(e.code()));
    details.set_message(e.what());
    google::rpc::ErrorInfo info;
    info.set_reason(e.reason());
    info.set_domain("crm." + service);
    for (const auto& [key, value] : e.metadata()) (*info.mutable_metadata())[key] = value;
    details.add_details()->PackFrom(info);
    if (!e.violations().empty()) {
        google::rpc::BadRequest bad;
        for (const auto& v : e.violations()) {
            auto* fv = bad.add_field_violations();
            fv->set_field(v.field);
            fv->set_description(v.description);
        }
        details.add_details()->PackFrom(bad);
    }
    return grpc::Status(e.code(), e.what(), details.SerializeAsString());
}

}  // namespace

void PrepareDownstreamCall(grpc::ClientContext& ctx, const RequestContext& rc, const std::string& internal_key,
                           std::chrono::milliseconds timeout) {
    const auto now = std::chrono::system_clock::now();
    auto deadline = now + timeout;
    if (rc.deadline < deadline) deadline = rc.deadline;
    ctx.set_deadline(deadline);
    const Identity identity{rc.tenant_id, rc.user_id, rc.roles, rc.key_id, rc.request_id};
    // The call key stays in this process: the channel's IdentitySigner replaces it with the method's signature.
    for (const auto& [key, value] : PrepareIdentity(identity, internal_key, now)) ctx.AddMetadata(key, value);
}

namespace {

namespace gx = grpc::experimental;

// Finishes the identity PrepareIdentity left in a call's metadata: the call key becomes the method and its signature,
// just before the headers are sent.
class IdentitySigner final : public gx::Interceptor {
  public:
    explicit IdentitySigner(const char* method) : method_(method == nullptr ? "" : method) {}

    void Intercept(gx::InterceptorBatchMethods* methods) override {
        if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
            auto* md = methods->GetSendInitialMetadata();
            const auto it = md->find(meta::kCallKey);
            if (it != md->end()) {
                const std::string call_key = it->second;
                md->erase(meta::kCallKey);  // every copy: it never leaves the process
                try {
                    for (auto& [key, value] : FinishIdentity(call_key, method_)) md->emplace(key, value);
                } catch (const std::invalid_argument&) {
                    log::Error("malformed identity call key; the call goes unsigned", {{"rpc", method_}});
                }
            }
        }
        methods->Proceed();
    }

  private:
    std::string method_;
};

class IdentitySignerFactory final : public gx::ClientInterceptorFactoryInterface {
  public:
    gx::Interceptor* CreateClientInterceptor(gx::ClientRpcInfo* info) override {
        return new IdentitySigner(info->method());
    }
};

// Which call each server context serves, keyed by the context's address while the call lives (the recorder's
// interceptor is created when the call starts and destroyed with the context). Sharded: one short lock per call.
class CalledMethods {
  public:
    void Set(const void* ctx, const void* owner, std::string method) {
        Shard& s = ShardOf(ctx);
        std::lock_guard lock(s.mutex);
        s.methods.insert_or_assign(ctx, Entry{owner, std::move(method)});
    }
    void Erase(const void* ctx, const void* owner) {
        Shard& s = ShardOf(ctx);
        std::lock_guard lock(s.mutex);
        const auto it = s.methods.find(ctx);
        if (it != s.methods.end() && it->second.owner == owner) s.methods.erase(it);
    }
    std::string Get(const void* ctx) {
        Shard& s = ShardOf(ctx);
        std::lock_guard lock(s.mutex);
        const auto it = s.methods.find(ctx);
        return it == s.methods.end() ? std::string() : it->second.method;
    }

  private:
    struct Entry {
        const void* owner;
        std::string method;
    };
    struct Shard {
        std::mutex mutex;
        std::unordered_map<const void*, Entry> methods;
    };
    Shard& ShardOf(const void* ctx) { return shards_[(reinterpret_cast<std::uintptr_t>(ctx) >> 6) % shards_.size()]; }
    std::array<Shard, 16> shards_;
};

CalledMethods& Registry() {
    static CalledMethods* registry = new CalledMethods();  // never destroyed: calls may end during exit
    return *registry;
}

class MethodRecorder final : public gx::Interceptor {
  public:
    explicit MethodRecorder(gx::ServerRpcInfo* info) : ctx_(info->server_context()) {
        Registry().Set(ctx_, this, info->method() == nullptr ? "" : info->method());
    }
    ~MethodRecorder() override { Registry().Erase(ctx_, this); }
    void Intercept(gx::InterceptorBatchMethods* methods) override { methods->Proceed(); }

  private:
    const void* ctx_;
};

class MethodRecorderFactory final : public gx::ServerInterceptorFactoryInterface {
  public:
    gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override { return new MethodRecorder(info); }
};

}  // namespace

std::shared_ptr<grpc::Channel> MakeDownstreamChannel(const std::string& target,
                                                     const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                                                     const grpc::ChannelArguments& args) {
    std::vector<std::unique_ptr<gx::ClientInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(std::make_unique<IdentitySignerFactory>());
    return gx::CreateCustomChannelWithInterceptors(target, credentials, args, std::move(interceptors));
}

std::unique_ptr<gx::ServerInterceptorFactoryInterface> MakeCalledMethodRecorder() {
    return std::make_unique<MethodRecorderFactory>();
}

std::string CalledMethod(const grpc::ServerContextBase* sc) { return Registry().Get(static_cast<const void*>(sc)); }

ErrorDetail ReadErrorDetail(const grpc::Status& status) {
    ErrorDetail out;
    google::rpc::Status details;
    if (status.error_details().empty() || !details.ParseFromString(status.error_details())) return out;
    for (const auto& any : details.details()) {
        google::rpc::ErrorInfo info;
        if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
            out.reason = info.reason();
            out.metadata.insert(info.metadata().begin(), info.metadata().end());
            break;
        }
    }
    return out;
}

void ThrowUpstreamError(const grpc::Status& status) {
    std::vector<FieldViolation> violations;
    google::rpc::Status details;
    if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
        for (const auto& any : details.details()) {
            google::rpc::BadRequest bad;
            if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad)) {
                for (const auto& v : bad.field_violations()) violations.push_back({v.field(), v.description()});
            }
        }
    }
    const ErrorDetail detail = ReadErrorDetail(status);
    ApiError error(status.error_code(), status.error_message(), detail.reason, std::move(violations));
    for (const auto& [k, v] : detail.metadata) static_cast<void>(std::move(error).With(k, v));
    throw error;
}

grpc::Status RpcRuntime::ToStatus(std::exception_ptr error, const std::string& service) {
    if (!error) return grpc::Status::OK;
    try {
        std::rethrow_exception(error);
    } catch (const ApiError& e) {
        return FromApiError(e, service);
    } catch (const pqxx::broken_connection&) {
        log::Error("database connection lost", {{"kind", "connection"}});
        return FromApiError(ApiError::Unavailable("database unavailable, retry later"), service);
    } catch (const pqxx::transaction_rollback&) {  // serialization failure, deadlock
        log::Warn("transaction rolled back");
        return FromApiError(ApiError::Aborted("concurrent modification, retry the call", "CONCURRENT_MODIFICATION"),
                            service);
    } catch (const pqxx::in_doubt_error&) {
        log::Error("transaction outcome unknown", {{"kind", "in_doubt"}});
        return FromApiError(ApiError::Unavailable("database connection lost during commit; retry with the same "
                                                  "request_id"),
                            service);
    } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() == "57014") {  // query_canceled: statement_timeout derived from the caller's deadline
            return FromApiError(ApiError::DeadlineExceeded("deadline exceeded while waiting for the database"),
                                service);
        }
        if (e.sqlstate() == "23505") {  // unique_violation that the repository did not turn into its own error
            return FromApiError(ApiError::AlreadyExists("the resource already exists"), service);
        }
        if (e.sqlstate() == "40001" || e.sqlstate() == "40P01") {
            return FromApiError(ApiError::Aborted("concurrent modification, retry the call", "CONCURRENT_MODIFICATION"),
                                service);
        }
        // The SQL text and the server message may hold personal data: log only the state code.
        log::Error("database error", {{"sqlstate", e.sqlstate()}});
        return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    } catch (const std::exception& e) {
        log::Error("unhandled exception", {{"type", typeid(e).name()}});
        return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    } catch (...) {
        log::Error("unhandled non-standard exception");
        return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
    }
}

grpc::Status RpcRuntime::Finish(const char* method, const RequestContext* rc, std::exception_ptr error,
                                std::chrono::steady_clock::time_point start) {
    grpc::Status status = ToStatus(error, settings_.service);
    if (rc && !status.ok() && detail::refusal_recorder && !rc->tenant_id.empty() && IsRefusal(status.error_code()) &&
        IsWriteMethod(detail::current_method)) {
        detail::ClearCurrentCall();  // the record is the service's own write, not the refused call's change
        try {
            detail::refusal_recorder(*rc, StatusCodeName(status.error_code()));
        } catch (const std::exception& e) {
            log::Warn("refused call not recorded in the audit trail", {{"rpc", method}, {"error", e.what()}});
        }
    }
    detail::ClearCurrentCall();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const char* code = StatusCodeName(status.error_code());
    impl_->Handled(settings_.service, method, code).Increment();
    impl_->Seconds(settings_.service, method).Observe(elapsed);
    const bool server_fault = status.error_code() == grpc::StatusCode::INTERNAL ||
                              status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                              status.error_code() == grpc::StatusCode::UNKNOWN;
    const log::Level level = status.ok() ? log::Level::kDebug : (server_fault ? log::Level::kError : log::Level::kInfo);
    if (log::Enabled(level)) {
        log::Fields fields{{"rpc", method}, {"code", code}, {"duration_ms", std::to_string(elapsed * 1000.0)}};
        if (rc) {
            fields.emplace_back("tenant", rc->tenant_id);
            fields.emplace_back("request_id", rc->request_id);
        }
        log::Write(level, status.ok() ? "rpc handled" : "rpc failed", fields);
    }
    return status;
}

}  // namespace crm::common
