#include "http/gateway.hpp"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "crm/common/log.hpp"
#include "crm/common/metrics.hpp"
#include "http/openapi.hpp"
#include "http/transcoder.hpp"
#include "policy/admission.hpp"
#include "proxy/headers.hpp"
#include "proxy/proxy.hpp"

namespace crm::gateway {
namespace {

using SysClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

constexpr char kOpenApiPath[] = "/openapi.json";
constexpr char kAllowedHeaders[] =
    "authorization, content-type, x-api-key, x-request-id, traceparent, x-server-timeout";
constexpr char kExposedHeaders[] = "x-request-id, retry-after";
constexpr size_t kMaxLoggedPathBytes = 200;

std::string Lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string MethodLabel(std::string_view m) {
    for (const char* known : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"}) {
        if (m == known) return known;
    }
    return "other";
}

std::string Join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

std::string ToString(const grpc::ByteBuffer& buffer) {
    std::vector<grpc::Slice> slices;
    std::string out;
    if (!buffer.Dump(&slices).ok()) return out;
    for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
}

Metadata ToMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
    Metadata out;
    for (const auto& [k, v] : md) out.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    return out;
}

bool HeaderSafe(std::string_view value) {
    return std::all_of(value.begin(), value.end(),
                       [](char c) { return c == '\t' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f); });
}

// google.rpc.Status details of a refusal by the gateway itself, exactly as the gRPC path sends them.
std::string RefusalDetails(const Refusal& refusal) { return ToGrpcStatus(refusal).error_details(); }

// X-Server-Timeout: seconds, decimal ("2", "0.5"). Nothing when absent; a negative duration when malformed.
std::optional<std::chrono::milliseconds> ClientTimeout(const HttpRequest& request) {
    const auto values = request.Header("x-server-timeout");
    if (values.empty()) return std::nullopt;
    if (values.size() != 1 || values[0].empty() || values[0].size() > 16) return std::chrono::milliseconds(-1);
    double seconds = 0;
    const auto [p, ec] = std::from_chars(values[0].data(), values[0].data() + values[0].size(), seconds);
    if (ec != std::errc() || p != values[0].data() + values[0].size() || !std::isfinite(seconds) || seconds <= 0) {
        return std::chrono::milliseconds(-1);
    }
    return std::chrono::milliseconds(static_cast<long long>(std::min(seconds, 1e7) * 1000.0 + 0.5));
}

}  // namespace

struct HttpGateway::State {
    HttpGatewaySettings settings;
    HttpRouteTable routes;
    std::shared_ptr<const Admission> admission;
    std::string openapi;
    struct Upstream {
        std::shared_ptr<grpc::Channel> channel;
        std::string target;
        std::unique_ptr<grpc::GenericStub> stub;
    };
    std::map<std::string, Upstream, std::less<>> upstreams;  // by package
    prometheus::Family<prometheus::Counter>& requests;
    prometheus::Family<prometheus::Histogram>& seconds;

    State(HttpGatewaySettings s, HttpRouteTable r, std::shared_ptr<const Admission> a, common::Metrics& metrics)
        : settings(std::move(s)),
          routes(std::move(r)),
          admission(std::move(a)),
          openapi(OpenApiDocument(routes)),
          requests(prometheus::BuildCounter()
                       .Name("crm_gateway_http_requests_total")
                       .Help("HTTP/JSON requests answered by the gateway, by HTTP method, route template and status.")
                       .Register(metrics.registry())),
          seconds(prometheus::BuildHistogram()
                      .Name("crm_gateway_http_request_seconds")
                      .Help("Duration of HTTP/JSON requests at the gateway, by HTTP method and route template.")
                      .Register(metrics.registry())) {}

    bool OriginAllowed(std::string_view origin) const {
        return std::any_of(settings.cors_origins.begin(), settings.cors_origins.end(),
                           [&](const std::string& o) { return o == "*" || o == origin; });
    }

    // CORS headers of an actual (non-preflight) answer.
    void AddCors(const HttpRequest& request, HttpHeaders& headers) const {
        const auto origin = request.Header("origin");
        if (origin.size() != 1 || !OriginAllowed(origin[0])) return;
        headers.emplace_back("access-control-allow-origin", std::string(origin[0]));
        headers.emplace_back("vary", "origin");
        headers.emplace_back("access-control-expose-headers", kExposedHeaders);
    }

    void Count(const HttpRequest& request, const std::string& route, int status, SteadyClock::time_point start) {
        const std::string method = MethodLabel(request.method);
        requests.Add({{"method", method}, {"route", route}, {"status", std::to_string(status)}}).Increment();
        seconds.Add({{"method", method}, {"route", route}}, common::Metrics::LatencyBuckets())
            .Observe(std::chrono::duration<double>(SteadyClock::now() - start).count());
    }

    // The log line of a request that did not become a call (no route, preflight, OpenAPI): the call's own line
    // comes from the admission component.
    static void LogRequest(const HttpRequest& request, int status, const std::string& request_id,
                           SteadyClock::time_point start) {
        const auto level = status >= 500 ? common::log::Level::kWarn : common::log::Level::kInfo;
        if (!common::log::Enabled(level)) return;
        char duration[32];
        std::snprintf(duration, sizeof duration, "%.3f",
                      std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count());
        const std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
        common::log::Write(level, "http",
                           {{"http_method", MethodLabel(request.method)},
                            {"path", std::string(path.substr(0, kMaxLoggedPathBytes))},
                            {"status", std::to_string(status)},
                            {"request_id", request_id},
                            {"duration_ms", duration},
                            {"peer", request.peer},
                            {"transport", "http"}});
    }
};

namespace {

// One transcoded call in flight.
struct HttpCall {
    std::shared_ptr<HttpGateway::State> state;
    HttpRequest request;
    std::function<void(HttpResponse)> respond;
    SteadyClock::time_point start = SteadyClock::now();
    SteadyClock::time_point upstream_start;
    const HttpRoute* route = nullptr;
    AdmissionResult admission;
    std::string upstream_target;
    grpc::ClientContext context;
    grpc::ByteBuffer request_bytes;
    grpc::ByteBuffer response_bytes;
    std::string redirect_field;  // a public link answered by a redirect to this response field

    // 302 to the http(s) URL in the response's redirect field (proto or JSON name); 500 when there is none.
    HttpResponse Redirect(const std::string& json_text) const {
        // The field path, each part by its proto name or its JSON (lowerCamelCase) name.
        const auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
        const nlohmann::json* at = &doc;
        size_t start = 0;
        while (at != nullptr && start <= redirect_field.size()) {
            const size_t dot = std::min(redirect_field.find('.', start), redirect_field.size());
            const std::string part = redirect_field.substr(start, dot - start);
            std::string camel;
            for (size_t i = 0; i < part.size(); ++i) {
                const bool up = part[i] == '_' && i + 1 < part.size();
                camel += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(part[++i]))) : part[i];
            }
            const nlohmann::json* next = nullptr;
            if (at->is_object()) {
                for (const auto& name : {part, camel}) {
                    if (auto it = at->find(name); it != at->end()) next = &*it;
                }
            }
            at = next;
            start = dot + 1;
        }
        const std::string location = at != nullptr && at->is_string() ? at->get<std::string>() : std::string();
        const bool web = location.rfind("https://", 0) == 0 || location.rfind("http://", 0) == 0;
        if (!web || !HeaderSafe(location) || location.size() > 8192) {
            common::log::Error("public link: the backend answered no http(s) URL to redirect to",
                               {{"rpc", route->grpc_path}, {"request_id", admission.request_id}});
            return Json(500, ErrorJson(13, "internal error", {}));
        }
        HttpResponse r;
        r.status = 302;
        r.headers.emplace_back("location", location);
        r.headers.emplace_back("cache-control", "no-store");
        r.headers.emplace_back("referrer-policy", "no-referrer");
        r.headers.emplace_back(kRequestIdHeader, admission.request_id);
        return r;
    }

    // A google.api.HttpBody answer: its bytes with its content type, never sniffed, never cached.
    HttpResponse Raw(RawBody body) const {
        HttpResponse r;
        r.status = 200;
        r.headers.emplace_back("content-type", std::move(body.content_type));
        r.headers.emplace_back("cache-control", "no-store");
        r.headers.emplace_back("x-content-type-options", "nosniff");
        r.headers.emplace_back(kRequestIdHeader, admission.request_id);
        state->AddCors(request, r.headers);
        r.body = std::move(body.data);
        return r;
    }

    HttpResponse Json(int status, std::string body) const {
        HttpResponse r;
        r.status = status;
        r.headers.emplace_back("content-type", "application/json");
        r.headers.emplace_back("cache-control", "no-store");
        r.headers.emplace_back(kRequestIdHeader, admission.request_id);
        state->AddCors(request, r.headers);
        r.body = std::move(body);
        return r;
    }

    void Finish(HttpResponse response, grpc::StatusCode code, std::string_view upstream_error = {}) {
        state->Count(request, route->path.text(), response.status, start);
        CallRecord record;
        record.admission = &admission;
        record.method = route->grpc_path;
        record.peer = request.peer;
        record.transport = "http";
        record.code = code;
        record.duration = SteadyClock::now() - start;
        record.upstream = upstream_target;
        record.upstream_error = upstream_error;
        state->admission->RecordCall(record);
        respond(std::move(response));
    }

    void FinishError(grpc::StatusCode code, const std::string& message, const std::string& details,
                     HttpHeaders extra = {}) {
        HttpResponse r =
            Json(HttpStatusFor(static_cast<int>(code)), ErrorJson(static_cast<int>(code), message, details));
        for (auto& h : extra) r.headers.push_back(std::move(h));
        Finish(std::move(r), code);
    }
};

}  // namespace

HttpGateway::HttpGateway(HttpGatewaySettings settings, HttpRouteTable routes,
                         std::shared_ptr<const Admission> admission, const ChannelLookup& channels,
                         common::Metrics& metrics)
    : state_(std::make_shared<State>(std::move(settings), std::move(routes), std::move(admission), metrics)) {
    for (const auto& r : state_->routes.routes()) {
        if (state_->upstreams.contains(r.package)) continue;
        BackendChannel b = channels(r.package);
        State::Upstream u;
        u.target = b.target;
        u.channel = std::move(b.channel);
        if (u.channel) u.stub = std::make_unique<grpc::GenericStub>(u.channel);
        state_->upstreams.emplace(r.package, std::move(u));
    }
}

HttpGateway::~HttpGateway() = default;

const HttpRouteTable& HttpGateway::routes() const { return state_->routes; }

const std::string& HttpGateway::openapi() const { return state_->openapi; }

void HttpGateway::Rejected(int status, std::string_view peer) {
    HttpRequest r;
    r.method = "other";
    r.peer = std::string(peer);
    state_->Count(r, "unparsed", status, SteadyClock::now());
    State::LogRequest(r, status, "", SteadyClock::now());
}

void HttpGateway::Handle(HttpRequest request, std::function<void(HttpResponse)> respond) {
    const auto start = SteadyClock::now();
    State& s = *state_;
    const size_t q = request.target.find('?');
    const std::string path = request.target.substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : request.target.substr(q + 1);

    // Answers that are not calls: CORS preflight, OpenAPI, no route.
    auto plain = [&](int status, std::string body, HttpHeaders headers, const std::string& route_label) {
        Metadata md;
        for (const char* name : {kRequestIdHeader}) {
            for (auto v : request.Header(name)) md.emplace_back(name, std::string(v));
        }
        const std::string request_id = ChooseRequestId(md);
        HttpResponse r;
        r.status = status;
        r.headers = std::move(headers);
        r.headers.emplace_back(kRequestIdHeader, request_id);
        if (!body.empty()) r.headers.emplace_back("content-type", "application/json");
        r.body = std::move(body);
        s.Count(request, route_label, status, start);
        State::LogRequest(request, status, request_id, start);
        respond(std::move(r));
    };
    if (path.empty() || path.front() != '/') {
        return plain(400, ErrorJson(3, "request target must be a path", {}), {}, "unmatched");
    }

    if (request.method == "OPTIONS") {
        const auto methods = s.routes.MethodsFor(path);
        const auto origin = request.Header("origin");
        const auto wanted = request.Header("access-control-request-method");
        HttpHeaders h;
        if (origin.empty() || wanted.empty()) {  // not a preflight: which methods serve this path
            if (methods.empty()) return plain(404, ErrorJson(5, "no route for this path", {}), {}, "unmatched");
            h.emplace_back("allow", Join(methods) + ", OPTIONS");
            return plain(204, {}, std::move(h), "preflight");
        }
        const bool method_ok =
            wanted.size() == 1 && std::find(methods.begin(), methods.end(), wanted[0]) != methods.end();
        if (origin.size() != 1 || !s.OriginAllowed(origin[0]) || !method_ok) {
            return plain(403, ErrorJson(7, "CORS preflight refused (origin or method not allowed)", {}), {},
                         "preflight");
        }
        h.emplace_back("access-control-allow-origin", std::string(origin[0]));
        h.emplace_back("vary", "origin");
        h.emplace_back("access-control-allow-methods", Join(methods));
        h.emplace_back("access-control-allow-headers", kAllowedHeaders);
        h.emplace_back("access-control-max-age", std::to_string(s.settings.cors_max_age.count()));
        return plain(204, {}, std::move(h), "preflight");
    }

    if (path == kOpenApiPath) {
        HttpHeaders h;
        s.AddCors(request, h);
        if (request.method != "GET") {
            h.emplace_back("allow", "GET");
            return plain(405, ErrorJson(12, "method not allowed", {}), std::move(h), kOpenApiPath);
        }
        return plain(200, s.openapi, std::move(h), kOpenApiPath);
    }

    auto [match, miss] = s.routes.Find(request.method, path);
    if (!match) {
        HttpHeaders h;
        s.AddCors(request, h);
        if (miss == HttpRouteTable::Miss::kWrongMethod) {
            h.emplace_back("allow", Join(s.routes.MethodsFor(path)));
            return plain(405, ErrorJson(12, "method " + MethodLabel(request.method) + " not allowed on this path", {}),
                         std::move(h), "unmatched");
        }
        return plain(404, ErrorJson(5, "no route for " + MethodLabel(request.method) + " on this path", {}),
                     std::move(h), "unmatched");
    }

    auto call = std::make_shared<HttpCall>();
    call->state = state_;
    call->route = match->route;
    call->respond = std::move(respond);
    call->start = start;
    const HttpRoute& route = *match->route;

    // A public link (policy "public_tokens"): the token in the path is the credential, unless the caller sent one.
    const PublicTokenRule* public_rule =
        s.admission->settings().policy.PublicTokenFor(route.method->service()->full_name(), route.method->name());
    if (public_rule != nullptr && request.Header(kAuthorization).empty() && request.Header(kApiKeyHeader).empty() &&
        request.Header(kPublicTokenHeader).empty()) {
        for (const auto& [variable, value] : match->bindings) {
            if (variable == public_rule->token_field) request.headers.emplace_back(kPublicTokenHeader, value);
        }
    }
    AdmissionRequest admission_request;
    admission_request.method = route.grpc_path;
    admission_request.headers = LookupIn(request.headers);
    admission_request.peer = request.peer;
    call->admission = s.admission->Admit(admission_request, SysClock::now());
    call->request = std::move(request);
    if (const auto& refusal = call->admission.refusal) {
        HttpHeaders extra;
        if (const auto seconds = refusal->RetryAfterSeconds(); seconds > 0) {
            extra.emplace_back("retry-after", std::to_string(seconds));
        }
        return call->FinishError(refusal->code, refusal->message, RefusalDetails(*refusal), std::move(extra));
    }

    // Transcoding. A one-click unsubscribe (RFC 8058) POSTs "List-Unsubscribe=One-Click" as a form to a public link:
    // the POST itself is the request, the form says nothing more.
    if (public_rule != nullptr && route.body.empty()) {
        const auto type = call->request.Header("content-type");
        if (type.size() == 1 && Lower(type[0]).rfind("application/x-www-form-urlencoded", 0) == 0) {
            call->request.body.clear();
        }
    }
    const bool by_link = public_rule != nullptr && call->admission.credential == "public_token";
    call->redirect_field = by_link && call->request.method == "GET" ? public_rule->redirect_field : "";
    const HttpRequest& req = call->request;
    if (!req.body.empty() && !route.body.empty()) {
        const auto type = req.Header("content-type");
        const bool json = type.size() == 1 && Lower(type[0]).rfind("application/json", 0) == 0;
        if (!json) {
            const std::string message = "the request body must be JSON (content-type: application/json)";
            HttpResponse r = call->Json(415, ErrorJson(3, message, {}));
            return call->Finish(std::move(r), grpc::StatusCode::INVALID_ARGUMENT);
        }
    }
    const auto timeout = ClientTimeout(req);
    if (timeout && timeout->count() < 0) {
        TranscodeError e{"invalid request", {{"x-server-timeout", "must be a positive number of seconds"}}};
        return call->Finish(call->Json(400, ErrorJson(e)), grpc::StatusCode::INVALID_ARGUMENT);
    }
    TranscodeResult transcoded = BuildRequest(route, match->bindings, query, req.body);
    if (!transcoded.ok()) {
        return call->Finish(call->Json(400, ErrorJson(*transcoded.error)), grpc::StatusCode::INVALID_ARGUMENT);
    }

    const auto upstream = s.upstreams.find(route.package);
    if (upstream == s.upstreams.end() || !upstream->second.stub) {
        return call->FinishError(grpc::StatusCode::UNAVAILABLE, "service unavailable, retry later", {});
    }
    call->upstream_target = upstream->second.target;
    const auto now = SysClock::now();
    const auto deadline = timeout ? std::min(*timeout, s.settings.max_deadline) : s.settings.default_deadline;
    call->context.set_deadline(now + deadline);
    for (const auto& [k, v] : call->admission.backend_metadata) call->context.AddMetadata(k, v);
    grpc::Slice slice(transcoded.bytes);
    call->request_bytes = grpc::ByteBuffer(&slice, 1);
    call->upstream_start = SteadyClock::now();
    upstream->second.stub->UnaryCall(
        &call->context, route.grpc_path, grpc::StubOptions(), &call->request_bytes, &call->response_bytes,
        [call](grpc::Status status) {
            call->state->admission->ObserveUpstream(call->admission.labels, SteadyClock::now() - call->upstream_start);
            HttpHeaders extra;
            Metadata md = ClientVisibleMetadata(ToMetadata(call->context.GetServerInitialMetadata()));
            for (auto& kv : ClientVisibleMetadata(ToMetadata(call->context.GetServerTrailingMetadata()))) {
                md.push_back(std::move(kv));
            }
            for (auto& [k, v] : md) {
                if (k.size() > 4 && k.compare(k.size() - 4, 4, "-bin") == 0) continue;
                if (k == kRequestIdHeader || !HeaderSafe(v)) continue;
                extra.emplace_back(std::move(k), std::move(v));
            }
            if (status.ok() && IsRawBody(*call->route)) {
                auto raw = ResponseRawBody(*call->route, ToString(call->response_bytes));
                if (!raw) {
                    common::log::Error("backend response is not a google.api.HttpBody with a usable content type",
                                       {{"rpc", call->route->grpc_path}, {"request_id", call->admission.request_id}});
                    return call->FinishError(grpc::StatusCode::INTERNAL, "internal error", {});
                }
                HttpResponse r = call->Raw(std::move(*raw));
                for (auto& h : extra) r.headers.push_back(std::move(h));
                return call->Finish(std::move(r), grpc::StatusCode::OK);
            }
            if (status.ok()) {
                auto json = ResponseJson(*call->route, ToString(call->response_bytes));
                if (!json) {
                    common::log::Error(
                        "backend response does not parse as the method's output type or is not valid UTF-8",
                        {{"rpc", call->route->grpc_path}, {"request_id", call->admission.request_id}});
                    return call->FinishError(grpc::StatusCode::INTERNAL, "internal error", {});
                }
                HttpResponse r =
                    call->redirect_field.empty() ? call->Json(200, std::move(*json)) : call->Redirect(*json);
                for (auto& h : extra) r.headers.push_back(std::move(h));
                const auto code = r.status == 500 ? grpc::StatusCode::INTERNAL : grpc::StatusCode::OK;
                return call->Finish(std::move(r), code);
            }
            std::string upstream_error;
            grpc::StatusCode code = status.error_code();
            std::string message = status.error_message();
            if (code == grpc::StatusCode::UNAVAILABLE && status.error_details().empty() &&
                call->context.GetServerInitialMetadata().empty()) {
                upstream_error = message;  // the channel's own text names internal addresses
                message = "service unavailable, retry later";
            }
            if (code == grpc::StatusCode::DEADLINE_EXCEEDED) message = "deadline exceeded";
            HttpResponse r = call->Json(HttpStatusFor(static_cast<int>(code)),
                                        ErrorJson(static_cast<int>(code), message, status.error_details()));
            for (auto& h : extra) r.headers.push_back(std::move(h));
            call->Finish(std::move(r), code, upstream_error);
        });
}

}  // namespace crm::gateway
