#pragma once
// The transparent gRPC proxy: a callback generic service that routes every call by the package of its service name,
// has it admitted (policy/admission.hpp: credential, policy, revocation, rate limit; shared with the HTTP/JSON server),
// and forwards the raw message bytes both ways over one reused channel per backend (unary and streaming alike, no
// decode/re-encode). The client's deadline (or a default) and cancellation propagate to the backend; the backend's
// status, message, details and metadata come back unchanged.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/tls.hpp"
#include "policy/admission.hpp"
#include "proxy/routes.hpp"

namespace grpc {
class CallbackGenericService;
class Channel;
class Status;
}  // namespace grpc

namespace crm::gateway {

struct ProxySettings {
    RouteTable routes;
    std::chrono::milliseconds default_deadline{15000};  // for calls whose client set no deadline
    // Bound on establishing a backend connection; calls fail UNAVAILABLE (no wait-for-ready) when it is down.
    std::chrono::milliseconds connect_timeout{1000};
    // Toward the services: plaintext when empty, else TLS trusting upstream_tls.ca_file, presenting its
    // cert_file/key_file when set (mutual TLS). upstream_server_name overrides the name checked in their certificates
    // (when the route targets are addresses, not the names in the certificates).
    common::TlsFiles upstream_tls;
    std::string upstream_server_name;
    // Retries only where safe: unary methods without side effects ("pkg.Service/Method", from the protos'
    // idempotency_level, see SafeToRetry in register.hpp) are attempted up to retry_attempts times in all when the
    // backend answers UNAVAILABLE (it was not reached or refused the call before doing anything). Every other method
    // is sent once. 1 disables retries.
    std::vector<std::string> retryable_methods;
    int retry_attempts = 3;
    std::chrono::milliseconds retry_initial_backoff{50};
    // Whether a method ("/pkg.Service/Method") is unary: those go through a shorter path (one upstream batch, the
    // response written with the status). Empty: by the method's descriptor in the linked protos; unknown methods take
    // the streaming path, which proxies any shape. Tests set it for their own services.
    std::function<bool(std::string_view method_path)> is_unary;
};

// The channel service config (JSON) that makes the retryable methods under `package` retry on UNAVAILABLE; empty
// when none of them is under it or retries are off.
std::string RetryServiceConfig(const ProxySettings& settings, std::string_view package);

// A gateway refusal as a gRPC status with google.rpc details: ErrorInfo (reason, domain crm.gateway) and, with a
// retry delay, RetryInfo.
grpc::Status ToGrpcStatus(const Refusal& refusal);

class Proxy {
  public:
    // Creates one channel per route and starts connecting.
    Proxy(ProxySettings settings, std::shared_ptr<const Admission> admission);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Register with ServerBuilder::RegisterCallbackGenericService; it must outlive the server.
    grpc::CallbackGenericService* service();

    // Calls in flight (downstream reactor not yet done).
    int active_calls() const;

    // The backend channel of a routed package (shared with the HTTP/JSON transcoder, so that both transports reuse
    // the same connections), null when the package is not routed.
    std::shared_ptr<grpc::Channel> channel(std::string_view package) const;

    // After the server has shut down: waits until every call has released its state. False on timeout.
    bool WaitIdle(std::chrono::milliseconds timeout);

    struct Core;

  private:
    std::shared_ptr<Core> core_;
    std::unique_ptr<grpc::CallbackGenericService> service_;
};

}  // namespace crm::gateway
