#include "crm/common/identity.hpp"

#include <algorithm>
#include <stdexcept>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"

namespace crm::common {
namespace {

std::string JoinRoles(const std::vector<std::string>& roles) {
    std::string out;
    for (const auto& r : roles) {
        if (!out.empty()) out.push_back(',');
        out += r;
    }
    return out;
}

std::vector<std::string> SplitRoles(std::string_view text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size() && !text.empty()) {
        size_t comma = text.find(',', start);
        std::string_view part = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        if (!part.empty()) out.emplace_back(part);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

std::string Canonical(const std::string& tenant, const std::string& user, const std::string& roles,
                      const std::string& key_id, const std::string& request_id, const std::string& ts) {
    // Newline cannot appear in any field (checked on both sides), so the encoding is unambiguous.
    return "crm-identity-v2\n" + tenant + "\n" + user + "\n" + roles + "\n" + key_id + "\n" + request_id + "\n" + ts;
}

// Raw 32 bytes; hex-encoded in meta::kCallKey.
std::string CallKey(std::string_view key, const std::string& tenant, const std::string& user, const std::string& roles,
                    const std::string& key_id, const std::string& request_id, const std::string& ts) {
    return HmacSha256(key, Canonical(tenant, user, roles, key_id, request_id, ts));
}

std::string MethodSignature(std::string_view raw_call_key, std::string_view method) {
    return HexEncode(HmacSha256(raw_call_key, "crm-identity-method\n" + std::string(method)));
}

bool PrintableNoNewline(std::string_view s, size_t max_len) {
    if (s.size() > max_len) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

bool Identity::HasRole(std::string_view role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool IsValidTenantId(std::string_view tenant) {
    if (tenant.empty() || tenant.size() > 63) return false;
    auto ok = [](char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '_' || c == '-'));
    };
    for (size_t i = 0; i < tenant.size(); ++i) {
        if (!ok(tenant[i], i == 0)) return false;
    }
    return true;
}

bool IsValidRequestId(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

IdentityHeaders PrepareIdentity(const Identity& id, std::string_view key, std::chrono::system_clock::time_point now) {
    std::string roles = JoinRoles(id.roles);
    std::string ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    std::string call_key = HexEncode(CallKey(key, id.tenant_id, id.user_id, roles, id.key_id, id.request_id, ts));
    return {{meta::kTenant, id.tenant_id}, {meta::kUser, id.user_id},         {meta::kRoles, roles},
            {meta::kKeyId, id.key_id},     {meta::kRequestId, id.request_id}, {meta::kTimestamp, ts},
            {meta::kCallKey, call_key}};
}

IdentityHeaders FinishIdentity(std::string_view call_key, std::string_view method) {
    std::string raw = HexDecode(call_key);  // throws std::invalid_argument on anything but hex
    if (raw.size() != 32) throw std::invalid_argument("not an identity call key");
    return {{meta::kMethod, std::string(method)}, {meta::kSignature, MethodSignature(raw, method)}};
}

IdentityHeaders SignIdentity(const Identity& id, std::string_view method, std::string_view key,
                             std::chrono::system_clock::time_point now) {
    IdentityHeaders out = PrepareIdentity(id, key, now);
    const std::string call_key = out.back().second;
    out.pop_back();  // meta::kCallKey: never sent
    for (auto& header : FinishIdentity(call_key, method)) out.push_back(std::move(header));
    return out;
}

namespace {

Identity Verify(const std::map<std::string, std::string>& md, std::string_view key, const std::string* method,
                std::chrono::system_clock::time_point now, std::chrono::seconds max_age) {
    auto get = [&](const char* name) -> std::string {
        auto it = md.find(name);
        return it == md.end() ? std::string() : it->second;
    };
    const std::string sig = get(meta::kSignature);
    const std::string ts = get(meta::kTimestamp);
    if (sig.empty() && md.count(meta::kCallKey) != 0) {
        // A service's own call whose channel lacks the signing interceptor (MakeDownstreamChannel).
        throw ApiError::Unauthenticated("unsigned identity: the calling channel does not sign calls");
    }
    if (sig.empty() || ts.empty()) throw ApiError::Unauthenticated("calls must come through the API gateway");
    Identity id;
    id.tenant_id = get(meta::kTenant);
    id.user_id = get(meta::kUser);
    id.key_id = get(meta::kKeyId);
    id.request_id = get(meta::kRequestId);
    const std::string roles = get(meta::kRoles);
    const std::string signed_method = get(meta::kMethod);
    if (!PrintableNoNewline(id.user_id, 256) || !PrintableNoNewline(id.key_id, 128) ||
        !PrintableNoNewline(roles, 1024) || !PrintableNoNewline(id.request_id, 128) || !PrintableNoNewline(ts, 20) ||
        !PrintableNoNewline(signed_method, 512)) {
        throw ApiError::Unauthenticated("malformed gateway identity");
    }
    const std::string expected =
        MethodSignature(CallKey(key, id.tenant_id, id.user_id, roles, id.key_id, id.request_id, ts), signed_method);
    if (!ConstantTimeEquals(expected, sig)) throw ApiError::Unauthenticated("invalid gateway identity signature");
    if (method != nullptr && signed_method != *method) {
        throw ApiError::Unauthenticated("gateway identity signed for another method");
    }
    long long signed_at = 0;
    try {
        signed_at = std::stoll(ts);
    } catch (const std::exception&) {
        throw ApiError::Unauthenticated("malformed gateway identity timestamp");
    }
    const long long now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (signed_at > now_s + kIdentityFutureSkew.count() || now_s - signed_at > max_age.count()) {
        throw ApiError::Unauthenticated("stale gateway identity");
    }
    if (!IsValidTenantId(id.tenant_id)) throw ApiError::Unauthenticated("gateway identity has an invalid tenant");
    id.roles = SplitRoles(roles);
    return id;
}

}  // namespace

Identity VerifyIdentity(const std::map<std::string, std::string>& md, std::string_view key, std::string_view method,
                        std::chrono::system_clock::time_point now, std::chrono::seconds max_age) {
    const std::string called(method);
    return Verify(md, key, &called, now, max_age);
}

Identity VerifyIdentity(const std::map<std::string, std::string>& md, std::string_view key,
                        std::chrono::system_clock::time_point now) {
    return Verify(md, key, nullptr, now, kIdentityMaxAge);
}

}  // namespace crm::common
