#pragma once
// HS256 JSON Web Token verification (RFC 7519 / RFC 7515) with the algorithm pinned.
//
// The header must say alg "HS256" (nothing else, never "none"); typ, when present, must be "JWT"; a "crit" header is
// refused. The signature is checked in constant time before any claim is read. Then: iss equals the configured
// issuer, aud (a string or an array of strings) holds the configured audience, exp is required, nbf and iat are
// honoured with a small leeway, and the CRM claims are validated: sub (user id), tenant, roles, optional jti.
// Pure code: no I/O, the caller passes the current time.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crm::gateway {

inline constexpr size_t kMaxTokenBytes = 8 * 1024;
inline constexpr size_t kMaxRoles = 16;

struct JwtSettings {
    std::string secret;               // HS256 key, at least 32 bytes
    std::string issuer;               // expected "iss"
    std::string audience;             // expected in "aud"
    std::chrono::seconds leeway{30};  // clock skew tolerated on exp, nbf and iat
};

// Why a token was refused. The names are stable: they label crm_gateway_auth_failures_total and log lines.
enum class JwtFailure {
    kNone,
    kMalformed,      // not three base64url segments of JSON objects, duplicate JSON keys, bad encoding
    kTooLarge,       // longer than kMaxTokenBytes
    kBadAlgorithm,   // alg is not exactly HS256
    kBadHeader,      // typ is not JWT, or a crit header is present
    kBadSignature,   // the HMAC does not match
    kExpired,        // exp <= now - leeway
    kNotYetValid,    // nbf or iat > now + leeway
    kWrongIssuer,    // iss differs from the configured issuer
    kWrongAudience,  // aud does not contain the configured audience
    kMissingClaim,   // iss, aud, exp, sub, tenant or roles absent
    kInvalidClaim,   // a claim of the wrong type or shape (bad tenant id, bad role, iat after exp, ...)
};

const char* JwtFailureName(JwtFailure failure);  // "malformed", "bad_signature", ...

struct JwtClaims {
    std::string subject;             // sub: the user id
    std::string tenant;              // tenant: passes crm::common::IsValidTenantId
    std::vector<std::string> roles;  // each [a-z_]{1,32}, at most kMaxRoles
    std::string jti;                 // optional token id
    std::int64_t expires_at = 0;     // exp, seconds since the epoch
};

struct JwtResult {
    JwtFailure failure = JwtFailure::kNone;
    JwtClaims claims;    // meaningful only when ok()
    std::string detail;  // which check failed, for logs (never contains the token or claim values)

    bool ok() const { return failure == JwtFailure::kNone; }
    const char* reason() const { return JwtFailureName(failure); }
};

class JwtVerifier {
  public:
    // Throws std::invalid_argument when the secret is shorter than 32 bytes, the issuer or audience is empty, or the
    // leeway is negative or above 5 minutes.
    explicit JwtVerifier(JwtSettings settings);

    JwtResult Verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  private:
    JwtSettings settings_;
};

}  // namespace crm::gateway
