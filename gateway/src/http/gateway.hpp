#pragma once
// The HTTP/JSON face of the gateway: an HttpHandler (http/server.hpp) that, for every request,
//   - answers CORS preflights and GET /openapi.json (no credential needed) itself;
//   - finds the route of the method and path (http/rules.hpp; 404, 405 with Allow);
//   - has the call admitted exactly like a gRPC call (policy/admission.hpp: Bearer JWT or x-api-key, policy,
//   revocation,
//     rate limit, request id, traceparent, signed identity);
//   - transcodes path variables, query parameters and JSON body into the request message (http/transcoder.hpp; 400 with
//     field violations, 415 for a body that is not JSON);
//   - calls the backend over the same channel as the gRPC proxy (one per route), with the client's deadline
//     (X-Server-Timeout, seconds) or the default one;
//   - answers the response as JSON, or the gRPC status mapped to an HTTP status with Google's JSON error body
//     (429 with Retry-After), plus x-request-id and the CORS headers.
// Metrics: crm_gateway_http_requests_total{method,route,status}, crm_gateway_http_request_seconds{method,route};
// the call itself is counted and logged by the admission component like a gRPC call (transport "http").
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/rules.hpp"
#include "http/server.hpp"

namespace grpc {
class Channel;
}
namespace crm::common {
class Metrics;
}

namespace crm::gateway {

class Admission;

struct HttpGatewaySettings {
    std::vector<std::string> cors_origins;              // allowed Origins ("*": any); empty: no CORS headers
    std::chrono::milliseconds default_deadline{15000};  // when the client sends no X-Server-Timeout
    std::chrono::milliseconds max_deadline{600000};     // bound on X-Server-Timeout
    std::chrono::seconds cors_max_age{600};
};

// The backend channel of a package (the gRPC proxy's, so that both transports share connections) and its target
// for the log; a null channel when the package is not routed.
struct BackendChannel {
    std::shared_ptr<grpc::Channel> channel;
    std::string target;
};
using ChannelLookup = std::function<BackendChannel(std::string_view package)>;

class HttpGateway final : public HttpHandler {
  public:
    // Routes whose package has no backend are kept (answered 503 like a backend that is down: the rule exists, the
    // service does not run here) and logged at start.
    HttpGateway(HttpGatewaySettings settings, HttpRouteTable routes, std::shared_ptr<const Admission> admission,
                const ChannelLookup& channels, common::Metrics& metrics);
    ~HttpGateway() override;

    void Handle(HttpRequest request, std::function<void(HttpResponse)> respond) override;
    void Rejected(int status, std::string_view peer) override;

    const HttpRouteTable& routes() const;
    const std::string& openapi() const;

    struct State;

  private:
    std::shared_ptr<State> state_;
};

}  // namespace crm::gateway
