#pragma once
// Admission of one call, independent of the transport (the gRPC proxy and the HTTP/JSON server both use it):
//
//   request id (the client's x-request-id when valid, else a new one)
//   -> credential: "authorization: Bearer <JWT>" verified (signature, algorithm, iss/aud/exp/nbf), or
//      "x-api-key: <key>" found by its id and its secret's hash compared in constant time (never both)
//   -> authorization by the policy (roles per method, default deny)
//   -> one limiter round trip: jti (or API key) revocation, the tenant's token bucket and the key's (only for a
//      permitted call)
//   -> admitted: the verified identity, and the metadata for the backend (identity signed with the internal key,
//      the client's traceparent when valid); or refused: status code, client message, stable reason, retry-after.
//
// Precedence of refusals: bad credential (UNAUTHENTICATED), revoked (UNAUTHENTICATED), not permitted
// (PERMISSION_DENIED), limiter unavailable in closed mode (UNAVAILABLE), rate limited (RESOURCE_EXHAUSTED).
//
// Admit is synchronous (the limiter check is bounded by its timeout) and thread-safe: call it from any thread, any
// number of calls at once. The component also owns the per-call metrics and the access log line (RecordCall), so
// that both transports count and log alike.
#include <grpcpp/support/status_code_enum.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authentication/api_keys.hpp"
#include "authentication/jwt.hpp"
#include "crm/common/identity.hpp"
#include "limits/ratelimit.hpp"
#include "policy/policy.hpp"
#include "proxy/headers.hpp"

namespace crm::common {
class Metrics;
}

namespace crm::gateway {

struct AdmissionSettings {
    JwtSettings jwt;
    size_t jwt_cache_entries = 10000;  // verified tokens remembered until exp (authentication/jwt_cache.hpp); 0: off
    std::string internal_key;          // signs the identity forwarded to backends (CRM_INTERNAL_KEY)
    Policy policy;                     // roles allowed per method (default deny); per-tenant rate limits
    RateLimit default_rate_limit{50, 100};  // for tenants the policy does not name
    std::shared_ptr<RateLimiter> limiter;   // revocation and rate limits; null: neither is checked
    FailMode fail_mode = FailMode::kOpen;   // when the limiter is unavailable
    // API keys ("x-api-key"); null: keys are refused. Calls with a key draw from the tenant's bucket and the key's
    // (its own limit, else default_api_key_limit).
    std::shared_ptr<ApiKeyStore> api_keys;
    RateLimit default_api_key_limit{20, 40};
};

// Every value of a request header by its lower-case name, in order; empty when absent.
using HeaderLookup = std::function<std::vector<std::string_view>(std::string_view lower_name)>;

// A lookup over a list of (lower-case name, value) pairs; the list must outlive the lookup.
HeaderLookup LookupIn(const Metadata& headers);

struct AdmissionRequest {
    std::string_view method;  // "crm.contacts.v1.ContactsService/GetContact" (a leading '/' is accepted)
    HeaderLookup headers;
    std::string_view peer;  // for the log: "ipv4:127.0.0.1:5555", an HTTP client address, ...
};

// Metric labels of a method. Methods outside the linked descriptors are client-chosen strings: only a bounded number
// of them, and only from authenticated callers, become label values; the rest are "other".
struct CallLabels {
    std::string service = "unknown";
    std::string method = "unknown";
};

struct Refusal {
    grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
    std::string message;                       // for the client
    std::string reason;                        // stable: google.rpc.ErrorInfo reason (domain crm.gateway)
    std::chrono::milliseconds retry_after{0};  // > 0 for RESOURCE_EXHAUSTED: RetryInfo

    // The retry-after header's value: whole seconds, rounded up, at least 1; 0 when there is no retry delay.
    long long RetryAfterSeconds() const {
        return retry_after.count() <= 0 ? 0 : std::max<long long>(1, (retry_after.count() + 999) / 1000);
    }
};

struct AdmissionResult {
    std::string request_id;  // always set: passed through or generated; send it back as x-request-id
    CallLabels labels;
    std::optional<Refusal> refusal;  // set when refused

    // Admitted calls (and, as far as they got, refused ones: for the log).
    common::Identity identity;  // tenant, user, roles, key id, request id
    std::string credential;     // "jwt" (later also "api_key"); empty when none was presented
    std::string traceparent;    // the client's, when valid
    Metadata backend_metadata;  // attach to the backend call: the signed identity and traceparent

    // For the access log (never a credential): why authentication failed, which check, the limiter's error.
    std::string auth_failure;
    std::string auth_detail;
    std::string limiter_error;

    bool admitted() const { return !refusal.has_value(); }
};

// What RecordCall logs and counts once a call is over.
struct CallRecord {
    const AdmissionResult* admission = nullptr;  // null only when the call never reached admission
    std::string_view method;                     // as the client sent it (logged, truncated)
    std::string_view peer;
    std::string_view transport;  // "grpc" or "http"
    grpc::StatusCode code = grpc::StatusCode::OK;
    std::chrono::steady_clock::duration duration{};
    std::string_view upstream;        // backend target when the call was forwarded
    std::string_view upstream_error;  // the gateway's own channel error text (never sent to the client)
};

class Admission {
  public:
    // Throws std::invalid_argument on bad JWT settings.
    Admission(AdmissionSettings settings, common::Metrics& metrics);
    ~Admission();
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;

    // The method must already be known to be routable (unknown services are the transport's UNIMPLEMENTED / 404).
    AdmissionResult Admit(const AdmissionRequest& request, std::chrono::system_clock::time_point now) const;

    // A call refused before admission (no route for its service, malformed path): the request id still chosen, the
    // labels "unknown".
    AdmissionResult Refuse(const AdmissionRequest& request, Refusal refusal) const;

    // Labels of a method path that is not admitted (unknown service, malformed path): "unknown".
    CallLabels LabelsFor(std::string_view method, bool authenticated) const;

    // Duration of a backend call, by service and method.
    void ObserveUpstream(const CallLabels& labels, std::chrono::steady_clock::duration duration) const;

    // Once per call: crm_gateway_requests_total{service,method,code} and the JSON access log line.
    void RecordCall(const CallRecord& record) const;

    const AdmissionSettings& settings() const;

    struct State;

  private:
    std::unique_ptr<State> state_;
};

// Codes that mean the server side failed (INTERNAL, UNKNOWN, UNAVAILABLE, DATA_LOSS): logged as warnings.
bool IsServerFault(grpc::StatusCode code);

}  // namespace crm::gateway
