#include "crm/common/rpc.hpp"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/client_context.h>

#include <map>
#include <mutex>
#include <pqxx/except>
#include <unordered_map>

#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"

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

RequestContext RpcRuntime::Begin(grpc::ServerContext* sc) const {
    RequestContext rc;
    if (settings_.require_identity) {
        std::map<std::string, std::string> md;
        for (const auto& [k, v] : sc->client_metadata()) {
            std::string key(k.data(), k.size());
            if (key.rfind("x-crm-", 0) == 0) md[key] = std::string(v.data(), v.size());
        }
        static_cast<Identity&>(rc) = VerifyIdentity(md, settings_.internal_key, std::chrono::system_clock::now());
    }
    rc.deadline = sc->deadline();
    if (rc.deadline <= std::chrono::system_clock::now()) throw ApiError::DeadlineExceeded("deadline already passed");
    if (sc->IsCancelled()) throw ApiError(grpc::StatusCode::CANCELLED, "call cancelled", "CANCELLED");
    return rc;
}

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
    for (const auto& [key, value] : SignIdentity(identity, internal_key, now)) ctx.AddMetadata(key, value);
}

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
