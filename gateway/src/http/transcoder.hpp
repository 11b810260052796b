#pragma once
// HTTP/JSON <-> protobuf transcoding for one route (http/rules.hpp), on the descriptors linked into the gateway:
//   request:  path variables + query parameters + JSON body (all of it for body "*", one field otherwise) -> the
//             request message (proto3 JSON mapping, unknown fields refused) -> serialized bytes;
//   response: the backend's response bytes -> JSON (the whole message, or the rule's response_body field);
//   errors:   a gRPC status (with google.rpc.Status details) -> HTTP status and Google's JSON error body.
// Pure code: no sockets, no gRPC calls; thread-safe (no state).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/rules.hpp"

namespace crm::gateway {

// A request the transcoder refused: INVALID_ARGUMENT with field violations (path "body", "id", "page_size", ...).
struct TranscodeError {
    std::string message;
    std::vector<std::pair<std::string, std::string>> violations;  // field, description
};

struct TranscodeResult {
    std::string bytes;                    // the serialized request (when ok)
    std::optional<TranscodeError> error;  // set when refused
    bool ok() const { return !error.has_value(); }
};

// Limits of the query string (the URL length is bounded by the server).
inline constexpr size_t kMaxQueryParameters = 100;

// bindings: as returned by HttpRouteTable::Find; query: the raw query string (after '?', may be empty); body: the
// raw request body (empty = no body).
TranscodeResult BuildRequest(const HttpRoute& route, const std::vector<std::pair<std::string, std::string>>& bindings,
                             std::string_view query, std::string_view body);

// The JSON of a backend response; nothing when the bytes do not parse as the method's output type.
std::optional<std::string> ResponseJson(const HttpRoute& route, const std::string& bytes);

// A response shown as google.api.HttpBody (the method's output type, or the field its rule's response_body names): the
// HTTP side answers its bytes with its content type instead of JSON (e.g. an image).
struct RawBody {
    std::string content_type;
    std::string data;
};
bool IsRawBody(const HttpRoute& route);
// The raw body of a backend response to such a route; nothing when the bytes do not parse as the method's output type
// or the content type is empty or not a safe header value.
std::optional<RawBody> ResponseRawBody(const HttpRoute& route, const std::string& bytes);

// Google's mapping of gRPC codes to HTTP statuses (google/rpc/code.proto): INVALID_ARGUMENT, FAILED_PRECONDITION,
// OUT_OF_RANGE 400; UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
// RESOURCE_EXHAUSTED 429; CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504; others 500.
int HttpStatusFor(int grpc_code);

// "NOT_FOUND", ... for a gRPC code number.
const char* GrpcCodeName(int grpc_code);

// {"error": {"code": <http status>, "message": ..., "status": "NOT_FOUND", "details": [...]}}: the details are
// decoded from the serialized google.rpc.Status (grpc-status-details-bin) when given and known to the gateway
// (BadRequest field violations, ErrorInfo, RetryInfo, ...), each with its "@type".
std::string ErrorJson(int grpc_code, std::string_view message, std::string_view status_details_bin = {});

// The error of a refused transcoding, as ErrorJson with a google.rpc.BadRequest.
std::string ErrorJson(const TranscodeError& error);

}  // namespace crm::gateway
