#include "crm/common/public_token.hpp"

#include <stdexcept>

#include "crm/common/crypto.hpp"

namespace crm::common {
namespace {

constexpr size_t kMacBytes = 16;
constexpr size_t kMaxTokenBytes = 2048;
constexpr char kSeparator = '\0';

std::string Mac(std::string_view purpose, std::string_view payload, std::string_view internal_key) {
    const std::string key = HmacSha256(internal_key, "crm-public-token:" + std::string(purpose));
    return HmacSha256(key, payload).substr(0, kMacBytes);
}

std::optional<PublicToken> Fail(PublicTokenError reason, PublicTokenError* error) {
    if (error != nullptr) *error = reason;
    return std::nullopt;
}

}  // namespace

std::string SignPublicToken(std::string_view purpose, const PublicToken& token, std::string_view internal_key) {
    if (purpose.empty() || token.tenant.empty()) throw std::invalid_argument("public token: purpose and tenant needed");
    if (token.expires_at < 0) throw std::invalid_argument("public token: negative expiry");
    if (token.tenant.find(kSeparator) != std::string::npos) throw std::invalid_argument("public token: NUL in tenant");
    std::string payload = token.tenant;
    payload += kSeparator;
    payload += std::to_string(token.expires_at);
    for (const auto& field : token.fields) {
        if (field.find(kSeparator) != std::string::npos) throw std::invalid_argument("public token: NUL in a field");
        payload += kSeparator;
        payload += field;
    }
    return Base64UrlEncode(payload) + "." + Base64UrlEncode(Mac(purpose, payload, internal_key));
}

std::optional<PublicToken> VerifyPublicToken(std::string_view purpose, std::string_view text, size_t field_count,
                                             std::string_view internal_key, int64_t now, PublicTokenError* error) {
    if (text.empty() || text.size() > kMaxTokenBytes) return Fail(PublicTokenError::kMalformed, error);
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || text.find('.', dot + 1) != std::string_view::npos) {
        return Fail(PublicTokenError::kMalformed, error);
    }
    std::string payload, mac;
    try {
        payload = Base64UrlDecode(text.substr(0, dot));
        mac = Base64UrlDecode(text.substr(dot + 1));
    } catch (const std::invalid_argument&) {
        return Fail(PublicTokenError::kMalformed, error);
    }
    if (mac.size() != kMacBytes) return Fail(PublicTokenError::kMalformed, error);
    if (!ConstantTimeEquals(mac, Mac(purpose, payload, internal_key))) {
        return Fail(PublicTokenError::kBadSignature, error);
    }
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        const size_t end = payload.find(kSeparator, start);
        parts.push_back(payload.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    if (parts.size() < 2 || (field_count != kAnyFieldCount && parts.size() != field_count + 2) || parts[0].empty())
        return Fail(PublicTokenError::kMalformed, error);
    PublicToken token;
    token.tenant = parts[0];
    try {
        size_t used = 0;
        token.expires_at = std::stoll(parts[1], &used);
        if (used != parts[1].size() || token.expires_at < 0) return Fail(PublicTokenError::kMalformed, error);
    } catch (const std::exception&) {
        return Fail(PublicTokenError::kMalformed, error);
    }
    if (token.expires_at != 0 && now >= token.expires_at) return Fail(PublicTokenError::kExpired, error);
    token.fields.assign(parts.begin() + 2, parts.end());
    return token;
}

}  // namespace crm::common
