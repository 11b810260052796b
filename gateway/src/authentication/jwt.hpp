#pragma once
// JSON Web Token verification (RFC 7519 / RFC 7515) for several issuers, each with its algorithms pinned:
// HS256 with a shared secret (development), RS256 and ES256 with public keys from the issuer's JWKS (jwks.hpp).
//
// The header's alg must be one of HS256, RS256, ES256 (never "none"); typ, when present, must be "JWT"; a "crit"
// header is refused. The payload's iss selects the issuer (an unknown one is wrong_issuer); the alg must be one that
// issuer pins (so an HS256 token can never be checked against an RSA issuer's public key used as a secret: algorithm
// confusion), the key comes from the issuer's configuration (HS256 secret) or its key source by kid (RS256/ES256),
// never from the token. The signature is checked (HMAC in constant time) before any other claim is looked at. Then:
// aud holds the issuer's audience, exp is required, nbf and iat are honoured with a small leeway, and the CRM claims
// are validated: sub (user id), tenant, roles, optional jti. The caller passes the current time; the only I/O is a
// key source refreshing on an unknown kid.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authentication/jwks.hpp"

namespace crm::gateway {

inline constexpr size_t kMaxTokenBytes = 8 * 1024;
inline constexpr size_t kMaxRoles = 16;

// One trusted issuer.
struct JwtIssuer {
    std::string issuer;                    // exact "iss"
    std::string audience;                  // required in "aud"
    std::vector<JwtAlgorithm> algorithms;  // pinned: HS256 alone, or RS256 and/or ES256
    std::string hs256_secret;              // HS256: at least 32 bytes
    std::shared_ptr<JwtKeySource> keys;    // RS256 / ES256: the issuer's JWKS
};

struct JwtSettings {
    // The development HS256 issuer (CRM_JWT_HS256_SECRET, CRM_JWT_ISSUER, CRM_JWT_AUDIENCE); an empty secret: none.
    std::string secret;               // HS256 key, at least 32 bytes
    std::string issuer;               // expected "iss"
    std::string audience;             // expected in "aud"
    std::chrono::seconds leeway{30};  // clock skew tolerated on exp, nbf and iat (every issuer)
    std::vector<JwtIssuer> issuers;   // further issuers (CRM_JWT_ISSUERS)
};

// Why a token was refused. The names are stable: they label crm_gateway_auth_failures_total and log lines.
enum class JwtFailure {
    kNone,
    kMalformed,      // not three base64url segments of JSON objects, duplicate JSON keys, bad encoding
    kTooLarge,       // longer than kMaxTokenBytes
    kBadAlgorithm,   // alg is not one the token's issuer pins (never none)
    kBadHeader,      // typ is not JWT, or a crit header is present
    kBadSignature,   // the HMAC or signature does not verify
    kUnknownKey,     // no key of the issuer's JWKS has the token's kid (after a refresh)
    kExpired,        // exp <= now - leeway
    kNotYetValid,    // nbf or iat > now + leeway
    kWrongIssuer,    // iss is none of the configured issuers
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
    std::int64_t not_before = 0;     // the later of nbf and iat (0: neither)
    std::string issuer;              // iss
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
    // Throws std::invalid_argument when no issuer is configured, an HS256 secret is shorter than 32 bytes, an issuer
    // or audience is empty, an issuer is named twice, its algorithms are empty or mix HS256 with public-key ones, a
    // public-key issuer has no key source, or the leeway is negative or above 5 minutes.
    explicit JwtVerifier(JwtSettings settings);

    JwtResult Verify(std::string_view token, std::chrono::system_clock::time_point now) const;

    std::chrono::seconds leeway() const { return leeway_; }

  private:
    std::vector<JwtIssuer> issuers_;
    std::chrono::seconds leeway_;
};

}  // namespace crm::gateway
