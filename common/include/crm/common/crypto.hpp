#pragma once
// Small, dependency-light crypto and encoding helpers (OpenSSL behind the .cpp).
#include <string>
#include <string_view>

namespace crm::common {

std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Sha256(std::string_view data);                            // raw 32 bytes
std::string HexEncode(std::string_view bytes);
std::string HexDecode(std::string_view hex);          // throws std::invalid_argument on bad input
std::string Base64UrlEncode(std::string_view bytes);  // no padding
std::string Base64UrlDecode(std::string_view text);   // throws std::invalid_argument on bad input
bool ConstantTimeEquals(std::string_view a, std::string_view b);
std::string RandomBytes(size_t n);  // cryptographically secure

// RFC 4122 version-4 UUID, lowercase canonical text.
std::string NewUuid();
bool IsUuid(std::string_view text);

}  // namespace crm::common
