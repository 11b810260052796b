#pragma once
// The caller's identity as the gateway verified it. The gateway signs it into metadata with a key it shares with
// the services; services accept only a valid, fresh signature made for the method actually called, so identity
// metadata sent by a client (or by anything that is not the gateway) is refused, and a header set captured on the
// way to one RPC cannot be replayed against another, nor for long against the same one.
//
// The signature is two HMAC-SHA256 steps:
//   call key  = HMAC(internal key, "crm-identity-v2" + tenant, user, roles, key id, request id, timestamp)
//   signature = HMAC(call key, "crm-identity-method" + full method name, e.g.
//   /crm.contacts.v1.ContactsService/GetContact)
// SignIdentity makes both at once (the gateway knows the method). A service calling another one prepares the call
// key when it has the caller's identity (PrepareIdentity, through PrepareDownstreamCall in rpc.hpp) and its channel's
// interceptor finishes the signature for the method the call goes to (FinishIdentity, MakeDownstreamChannel).
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crm::common {

namespace meta {
inline constexpr char kTenant[] = "x-crm-tenant";
inline constexpr char kUser[] = "x-crm-user";
inline constexpr char kRoles[] = "x-crm-roles";
inline constexpr char kKeyId[] = "x-crm-key-id";
inline constexpr char kRequestId[] = "x-crm-request-id";
inline constexpr char kMethod[] = "x-crm-method";  // the full method name the identity is signed for
inline constexpr char kTimestamp[] = "x-crm-identity-ts";
inline constexpr char kSignature[] = "x-crm-identity-sig";
// Every header of a signed identity, for gateways and proxies that must strip them from client requests.
inline constexpr const char* kAll[] = {kTenant, kUser, kRoles, kKeyId, kRequestId, kMethod, kTimestamp, kSignature};
// Where PrepareIdentity leaves the call key until the method is known. Never sent: FinishIdentity replaces it (a
// service that receives it refuses the call: the caller's channel did not sign).
inline constexpr char kCallKey[] = "x-crm-identity-call-key";
}  // namespace meta

// How long a signature is accepted after it was made, and how far ahead of the verifier's clock it may be.
inline constexpr std::chrono::seconds kIdentityMaxAge{30};
inline constexpr std::chrono::seconds kIdentityFutureSkew{5};

struct Identity {
    std::string tenant_id;
    std::string user_id;
    std::vector<std::string> roles;
    std::string key_id;  // API key id when the caller used a key
    std::string request_id;
    bool HasRole(std::string_view role) const;
};

using IdentityHeaders = std::vector<std::pair<std::string, std::string>>;

bool IsValidTenantId(std::string_view tenant);  // [a-z0-9][a-z0-9_-]{0,62}
bool IsValidRequestId(std::string_view id);     // printable ASCII without spaces, 1..128

// The metadata of a call to `method` (full name, "/package.Service/Method") on behalf of `identity`.
IdentityHeaders SignIdentity(const Identity& identity, std::string_view method, std::string_view key,
                             std::chrono::system_clock::time_point now);

// The first step alone: the identity headers and the call key (meta::kCallKey), for callers that learn the method
// later. The call key signs for any method until the timestamp is stale: it must never leave the process.
IdentityHeaders PrepareIdentity(const Identity& identity, std::string_view key,
                                std::chrono::system_clock::time_point now);

// The second step: the headers that replace meta::kCallKey for a call to `method` (meta::kMethod and
// meta::kSignature). Throws std::invalid_argument when the call key is not one PrepareIdentity made.
IdentityHeaders FinishIdentity(std::string_view call_key, std::string_view method);

// Checks the signed metadata (lower-case keys) of a call to `method`: present, well formed, signed with `key` for
// exactly that method, made at most max_age ago (and at most kIdentityFutureSkew ahead). Throws ApiError
// UNAUTHENTICATED otherwise. What services call (through RpcRuntime).
Identity VerifyIdentity(const std::map<std::string, std::string>& metadata, std::string_view key,
                        std::string_view method, std::chrono::system_clock::time_point now,
                        std::chrono::seconds max_age = kIdentityMaxAge);

// The same checks for whatever method the metadata names (meta::kMethod): for tools and tests that inspect the
// metadata a gateway produced, not for a server (which must bind the signature to the method called).
Identity VerifyIdentity(const std::map<std::string, std::string>& metadata, std::string_view key,
                        std::chrono::system_clock::time_point now);

}  // namespace crm::common
