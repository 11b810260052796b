#pragma once
// The caller's identity as the gateway verified it. The gateway signs it into metadata with a key it shares with
// the services (HMAC-SHA256 over every field plus a timestamp); services accept only a valid, fresh signature, so
// identity metadata sent by a client (or by anything that is not the gateway) is refused.
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
inline constexpr char kTimestamp[] = "x-crm-identity-ts";
inline constexpr char kSignature[] = "x-crm-identity-sig";
// Every identity header, for gateways and proxies that must strip them from client requests.
inline constexpr const char* kAll[] = {kTenant, kUser, kRoles, kKeyId, kRequestId, kTimestamp, kSignature};
}  // namespace meta

struct Identity {
    std::string tenant_id;
    std::string user_id;
    std::vector<std::string> roles;
    std::string key_id;  // API key id when the caller used a key
    std::string request_id;
    bool HasRole(std::string_view role) const;
};

bool IsValidTenantId(std::string_view tenant);  // [a-z0-9][a-z0-9_-]{0,62}
bool IsValidRequestId(std::string_view id);     // printable ASCII without spaces, 1..128

// Metadata the gateway attaches to a backend call.
std::vector<std::pair<std::string, std::string>> SignIdentity(const Identity& identity, std::string_view key,
                                                              std::chrono::system_clock::time_point now);

// Checks the signed metadata (lower-case keys). Throws ApiError UNAUTHENTICATED when it is missing, malformed,
// tampered with or older than max_age.
Identity VerifyIdentity(const std::map<std::string, std::string>& metadata, std::string_view key,
                        std::chrono::system_clock::time_point now,
                        std::chrono::seconds max_age = std::chrono::seconds(300));

}  // namespace crm::common
