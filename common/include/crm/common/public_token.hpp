#pragma once
// Tokens that public URLs carry (a tracked link, a one-click unsubscribe, a satisfaction survey): who and what they
// are for, signed so nobody can forge one or move it to another tenant, another purpose or another subject.
//
// A token is base64url(payload) "." base64url(MAC), the MAC being HMAC-SHA256 (first 16 bytes) under a key derived
// from the suite's internal key and the purpose, so a token made for one purpose never verifies for another. The
// payload holds the tenant, the expiry (Unix seconds, 0 = none) and the caller's fields; it is signed, not
// encrypted: put ids in it, never personal data. Single use, where wanted, is the service's to record.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crm::common {

struct PublicToken {
    std::string tenant;
    std::vector<std::string> fields;  // the purpose's own values (ids, a channel), in a fixed order
    int64_t expires_at = 0;           // Unix seconds; 0 = never
};

enum class PublicTokenError { kMalformed, kBadSignature, kExpired };

// VerifyPublicToken's field_count for a verifier that does not know the purpose's fields (the gateway).
inline constexpr size_t kAnyFieldCount = static_cast<size_t>(-1);

// Signs `token` for `purpose` with the internal key (CRM_INTERNAL_KEY). Throws std::invalid_argument when the purpose
// or tenant is empty or a value holds a NUL byte.
std::string SignPublicToken(std::string_view purpose, const PublicToken& token, std::string_view internal_key);

// The token's contents when it was signed for `purpose` with this key, has `field_count` fields (or any number, with
// kAnyFieldCount) and has not expired
// at `now` (Unix seconds); else nullopt and the reason in *error (if given). Comparison in constant time.
std::optional<PublicToken> VerifyPublicToken(std::string_view purpose, std::string_view text, size_t field_count,
                                             std::string_view internal_key, int64_t now,
                                             PublicTokenError* error = nullptr);

}  // namespace crm::common
