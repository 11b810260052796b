#pragma once
// What crosses the gateway in metadata, as pure functions over (key, value) lists so that the rules are unit-tested
// without sockets:
//   client -> gateway:   authorization (Bearer JWT), x-request-id, traceparent; everything else is ignored.
//   gateway -> backend:  the identity signed with the internal key for the method called (x-crm-*), traceparent.
//                        Never the token, never a client's x-crm-* header.
//   backend -> client:   initial and trailing metadata minus reserved (grpc-*, pseudo and transport) and internal
//                        (x-crm-*) headers; the gateway adds x-request-id.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crm/common/identity.hpp"

namespace crm::gateway {

using Metadata = std::vector<std::pair<std::string, std::string>>;

inline constexpr char kAuthorization[] = "authorization";
inline constexpr char kRequestIdHeader[] = "x-request-id";
inline constexpr char kTraceparent[] = "traceparent";
// A token a service signed for a public link (policy "public_tokens"): the credential of calls made by following it.
// Like every client x-crm-* header, never forwarded.
inline constexpr char kPublicTokenHeader[] = "x-crm-public-token";

enum class BearerError { kNone, kMissing, kMalformed };

struct Bearer {
    BearerError error = BearerError::kNone;
    std::string token;  // set when error == kNone
};

// The token of the single "authorization: Bearer <token>" header (scheme case-insensitive). Missing when there is no
// authorization header; malformed when there are several, the scheme is not Bearer or the token is empty.
Bearer ExtractBearer(const Metadata& client);

// The client's x-request-id when there is exactly one and it passes IsValidRequestId, else a new UUID.
std::string ChooseRequestId(const Metadata& client);

// W3C trace-context traceparent: "vv-<32 hex>-<16 hex>-ff", lower-case, ids not all zero, version not ff.
bool IsValidTraceparent(std::string_view value);

// Metadata for the backend call: the identity signed for `method` (the full name, "/package.Service/Method": services
// refuse a signature made for any other method, an empty one included) plus a valid traceparent. Nothing else from
// the client.
Metadata UpstreamMetadata(const Metadata& client, const common::Identity& identity, std::string_view internal_key,
                          std::chrono::system_clock::time_point now, std::string_view method = {});

// Backend metadata that may go back to the client (initial or trailing). gRPC's own grpc-* entries are excluded:
// status, message and grpc-status-details-bin travel in the grpc::Status.
Metadata ClientVisibleMetadata(const Metadata& backend);

// The deadline of the backend call: the client's, or now + fallback when the client set none.
std::chrono::system_clock::time_point UpstreamDeadline(std::chrono::system_clock::time_point client_deadline,
                                                       std::chrono::system_clock::time_point now,
                                                       std::chrono::milliseconds fallback);

}  // namespace crm::gateway
