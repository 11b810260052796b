#pragma once
// A call to a service the gateway serves itself (ApiKeysService, AuditService): admitted like a proxied call
// (credential, policy, rate limit: policy/admission.hpp), then the handler with the caller's identity; exceptions map
// to statuses once (RpcRuntime::ToStatus), and the call is recorded (metric and log line) like every other.
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <string>

#include "crm/common/rpc.hpp"
#include "policy/admission.hpp"
#include "proxy/proxy.hpp"

namespace crm::gateway {

template <class F>
grpc::Status AdmittedCall(const Admission& admission, grpc::ServerContext* sc, const std::string& full_method, F&& fn) {
    const auto start = std::chrono::steady_clock::now();
    Metadata md;
    for (const auto& [k, v] : sc->client_metadata()) {
        md.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    const std::string peer = sc->peer();
    const AdmissionResult a = admission.Admit({full_method, LookupIn(md), peer}, std::chrono::system_clock::now());
    sc->AddInitialMetadata(kRequestIdHeader, a.request_id);
    grpc::Status status;
    if (!a.admitted()) {
        if (a.refusal->retry_after.count() > 0) {
            sc->AddTrailingMetadata("retry-after", std::to_string(a.refusal->RetryAfterSeconds()));
        }
        status = ToGrpcStatus(*a.refusal);
    } else {
        try {
            common::RequestContext rc;
            static_cast<common::Identity&>(rc) = a.identity;
            rc.deadline = sc->deadline();
            rc.rpc = full_method.substr(full_method.rfind('/') + 1);
            fn(static_cast<const common::RequestContext&>(rc));
            status = grpc::Status::OK;
        } catch (...) {
            status = common::RpcRuntime::ToStatus(std::current_exception(), "gateway");
        }
    }
    admission.RecordCall({.admission = &a,
                          .method = full_method,
                          .peer = peer,
                          .transport = "grpc",
                          .code = status.error_code(),
                          .duration = std::chrono::steady_clock::now() - start,
                          .upstream = {},
                          .upstream_error = {}});
    return status;
}

}  // namespace crm::gateway
