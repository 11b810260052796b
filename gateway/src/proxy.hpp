#pragma once
// The transparent gRPC proxy: a callback generic service that authenticates every call (Bearer JWT), authorizes it
// (the policy's role rules), checks token revocation and the tenant's rate limit (one round trip to the limiter),
// routes it by the package of its service name, and forwards the raw message bytes both ways over one reused channel
// per backend (unary and streaming alike, no decode/re-encode). The client's deadline (or a default) and cancellation
// propagate to the backend; the backend's status, message, details and metadata come back unchanged.
#include <chrono>
#include <memory>
#include <string>

#include "jwt.hpp"
#include "policy.hpp"
#include "ratelimit.hpp"
#include "routes.hpp"

namespace grpc {
class CallbackGenericService;
}

namespace crm::common {
class Metrics;
}

namespace crm::gateway {

struct ProxySettings {
    RouteTable routes;
    JwtSettings jwt;
    std::string internal_key;                           // signs the identity forwarded to backends (CRM_INTERNAL_KEY)
    std::chrono::milliseconds default_deadline{15000};  // for calls whose client set no deadline
    // Bound on establishing a backend connection; calls fail UNAVAILABLE (no wait-for-ready) when it is down.
    std::chrono::milliseconds connect_timeout{1000};
    Policy policy;                          // roles allowed per method (default deny); per-tenant rate limits
    RateLimit default_rate_limit{50, 100};  // for tenants the policy does not name
    std::shared_ptr<RateLimiter> limiter;   // revocation and rate limits; null: neither is checked
    FailMode fail_mode = FailMode::kOpen;   // when the limiter is unavailable
};

class Proxy {
  public:
    // Creates one channel per route and starts connecting. Throws std::invalid_argument on bad JWT settings.
    Proxy(ProxySettings settings, common::Metrics& metrics);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Register with ServerBuilder::RegisterCallbackGenericService; it must outlive the server.
    grpc::CallbackGenericService* service();

    // Calls in flight (downstream reactor not yet done).
    int active_calls() const;

    // After the server has shut down: waits until every call has released its state. False on timeout.
    bool WaitIdle(std::chrono::milliseconds timeout);

    struct Core;

  private:
    std::shared_ptr<Core> core_;
    std::unique_ptr<grpc::CallbackGenericService> service_;
};

}  // namespace crm::gateway
