#include "jwt.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>

#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"

namespace crm::gateway {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 8;
constexpr size_t kMaxSubjectBytes = 256;
constexpr size_t kMaxJtiBytes = 128;
constexpr size_t kMaxRoleBytes = 32;
constexpr std::int64_t kMaxNumericDate = 253402300799;  // 9999-12-31T23:59:59Z

struct Refused {
    JwtFailure failure;
    const char* detail;
};

[[noreturn]] void Refuse(JwtFailure failure, const char* detail) { throw Refused{failure, detail}; }

// Parses a JSON object, refusing duplicate keys at any level (a classic way to make two parsers disagree about a
// claim) and nesting deeper than kMaxJsonDepth.
json ParseObject(const std::string& text, const char* what) {
    std::vector<std::set<std::string>> open_objects;
    bool duplicate = false;
    bool too_deep = false;
    json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > kMaxJsonDepth) too_deep = true;
        switch (event) {
            case json::parse_event_t::object_start:
                open_objects.emplace_back();
                break;
            case json::parse_event_t::object_end:
                if (!open_objects.empty()) open_objects.pop_back();
                break;
            case json::parse_event_t::key:
                if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second) {
                    duplicate = true;
                }
                break;
            default:
                break;
        }
        return true;
    };
    json value;
    try {
        value = json::parse(text, check, /*allow_exceptions=*/true, /*ignore_comments=*/false);
    } catch (const json::exception&) {
        Refuse(JwtFailure::kMalformed, what);
    }
    if (duplicate || too_deep || !value.is_object()) Refuse(JwtFailure::kMalformed, what);
    return value;
}

std::string DecodeSegment(std::string_view segment, const char* what) {
    if (segment.empty()) Refuse(JwtFailure::kMalformed, what);
    try {
        return common::Base64UrlDecode(segment);
    } catch (const std::invalid_argument&) {
        Refuse(JwtFailure::kMalformed, what);
    }
}

// A NumericDate (RFC 7519 section 2): a non-negative JSON number of seconds; fractions are truncated.
std::int64_t NumericDate(const json& value, const char* what) {
    if (value.is_number_unsigned()) {
        auto v = value.get<std::uint64_t>();
        if (v > static_cast<std::uint64_t>(kMaxNumericDate)) Refuse(JwtFailure::kInvalidClaim, what);
        return static_cast<std::int64_t>(v);
    }
    if (value.is_number_integer()) {
        auto v = value.get<std::int64_t>();
        if (v < 0 || v > kMaxNumericDate) Refuse(JwtFailure::kInvalidClaim, what);
        return v;
    }
    if (value.is_number_float()) {
        double v = value.get<double>();
        if (!std::isfinite(v) || v < 0 || v > static_cast<double>(kMaxNumericDate)) {
            Refuse(JwtFailure::kInvalidClaim, what);
        }
        return static_cast<std::int64_t>(v);
    }
    Refuse(JwtFailure::kInvalidClaim, what);
}

bool PrintableNoSpace(std::string_view s) {
    for (char c : s) {
        if (c <= 0x20 || c >= 0x7f) return false;
    }
    return true;
}

bool IsValidRole(std::string_view role) {
    if (role.empty() || role.size() > kMaxRoleBytes) return false;
    for (char c : role) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
    }
    return true;
}

void CheckHeader(const json& header) {
    auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
        Refuse(JwtFailure::kBadAlgorithm, "alg must be HS256");
    }
    if (auto typ = header.find("typ"); typ != header.end()) {
        // Media type names compare case-insensitively (RFC 7515 section 4.1.9); only "JWT" is accepted.
        if (!typ->is_string()) Refuse(JwtFailure::kBadHeader, "typ must be JWT");
        const auto& t = typ->get_ref<const std::string&>();
        if (t.size() != 3 || (t[0] | 0x20) != 'j' || (t[1] | 0x20) != 'w' || (t[2] | 0x20) != 't') {
            Refuse(JwtFailure::kBadHeader, "typ must be JWT");
        }
    }
    // No extension is understood, so a critical one can never be honoured (RFC 7515 section 4.1.11).
    if (header.contains("crit")) Refuse(JwtFailure::kBadHeader, "crit is not supported");
}

const json& Required(const json& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) Refuse(JwtFailure::kMissingClaim, name);
    return *it;
}

JwtClaims CheckClaims(const json& claims, const JwtSettings& settings, std::chrono::system_clock::time_point now) {
    const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::int64_t leeway = settings.leeway.count();

    const json& iss = Required(claims, "iss");
    if (!iss.is_string()) Refuse(JwtFailure::kInvalidClaim, "iss must be a string");
    if (iss.get_ref<const std::string&>() != settings.issuer) Refuse(JwtFailure::kWrongIssuer, "iss");

    const json& aud = Required(claims, "aud");
    bool audience_ok = false;
    if (aud.is_string()) {
        audience_ok = aud.get_ref<const std::string&>() == settings.audience;
    } else if (aud.is_array()) {
        for (const auto& a : aud) {
            if (!a.is_string()) Refuse(JwtFailure::kInvalidClaim, "aud must hold strings");
            if (a.get_ref<const std::string&>() == settings.audience) audience_ok = true;
        }
    } else {
        Refuse(JwtFailure::kInvalidClaim, "aud must be a string or an array of strings");
    }
    if (!audience_ok) Refuse(JwtFailure::kWrongAudience, "aud");

    const std::int64_t exp = NumericDate(Required(claims, "exp"), "exp must be a NumericDate");
    if (exp <= now_s - leeway) Refuse(JwtFailure::kExpired, "exp");
    if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
        if (NumericDate(*nbf, "nbf must be a NumericDate") > now_s + leeway) Refuse(JwtFailure::kNotYetValid, "nbf");
    }
    if (auto iat = claims.find("iat"); iat != claims.end()) {
        const std::int64_t issued = NumericDate(*iat, "iat must be a NumericDate");
        if (issued > now_s + leeway) Refuse(JwtFailure::kNotYetValid, "iat in the future");
        if (issued > exp) Refuse(JwtFailure::kInvalidClaim, "iat after exp");
    }

    JwtClaims out;
    out.expires_at = exp;

    const json& sub = Required(claims, "sub");
    if (!sub.is_string()) Refuse(JwtFailure::kInvalidClaim, "sub must be a string");
    out.subject = sub.get<std::string>();
    if (out.subject.empty() || out.subject.size() > kMaxSubjectBytes || !PrintableNoSpace(out.subject)) {
        Refuse(JwtFailure::kInvalidClaim, "sub must be 1..256 printable characters");
    }

    const json& tenant = Required(claims, "tenant");
    if (!tenant.is_string() || !common::IsValidTenantId(tenant.get_ref<const std::string&>())) {
        Refuse(JwtFailure::kInvalidClaim, "tenant is not a valid tenant id");
    }
    out.tenant = tenant.get<std::string>();

    const json& roles = Required(claims, "roles");
    if (!roles.is_array() || roles.size() > kMaxRoles) {
        Refuse(JwtFailure::kInvalidClaim, "roles must be an array of at most 16 strings");
    }
    for (const auto& r : roles) {
        if (!r.is_string() || !IsValidRole(r.get_ref<const std::string&>())) {
            Refuse(JwtFailure::kInvalidClaim, "each role must match [a-z_]{1,32}");
        }
        out.roles.push_back(r.get<std::string>());
    }

    if (auto jti = claims.find("jti"); jti != claims.end() && !jti->is_null()) {
        if (!jti->is_string()) Refuse(JwtFailure::kInvalidClaim, "jti must be a string");
        out.jti = jti->get<std::string>();
        if (out.jti.empty() || out.jti.size() > kMaxJtiBytes || !PrintableNoSpace(out.jti)) {
            Refuse(JwtFailure::kInvalidClaim, "jti must be 1..128 printable characters");
        }
    }
    return out;
}

}  // namespace

const char* JwtFailureName(JwtFailure failure) {
    switch (failure) {
        case JwtFailure::kNone:
            return "none";
        case JwtFailure::kMalformed:
            return "malformed";
        case JwtFailure::kTooLarge:
            return "too_large";
        case JwtFailure::kBadAlgorithm:
            return "bad_algorithm";
        case JwtFailure::kBadHeader:
            return "bad_header";
        case JwtFailure::kBadSignature:
            return "bad_signature";
        case JwtFailure::kExpired:
            return "expired";
        case JwtFailure::kNotYetValid:
            return "not_yet_valid";
        case JwtFailure::kWrongIssuer:
            return "wrong_issuer";
        case JwtFailure::kWrongAudience:
            return "wrong_audience";
        case JwtFailure::kMissingClaim:
            return "missing_claim";
        case JwtFailure::kInvalidClaim:
            return "invalid_claim";
    }
    return "unknown";
}

JwtVerifier::JwtVerifier(JwtSettings settings) : settings_(std::move(settings)) {
    if (settings_.secret.size() < 32) throw std::invalid_argument("the HS256 secret must be at least 32 bytes");
    if (settings_.issuer.empty()) throw std::invalid_argument("the JWT issuer must not be empty");
    if (settings_.audience.empty()) throw std::invalid_argument("the JWT audience must not be empty");
    if (settings_.leeway.count() < 0 || settings_.leeway.count() > 300) {
        throw std::invalid_argument("the JWT leeway must be between 0 and 300 seconds");
    }
}

JwtResult JwtVerifier::Verify(std::string_view token, std::chrono::system_clock::time_point now) const {
    JwtResult result;
    try {
        if (token.size() > kMaxTokenBytes) Refuse(JwtFailure::kTooLarge, "token longer than 8 KiB");
        // Compact serialization: exactly three segments (a JWE has five, anything else is not a JWS).
        const size_t dot1 = token.find('.');
        const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
        if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
            Refuse(JwtFailure::kMalformed, "not three segments");
        }
        const std::string_view header_b64 = token.substr(0, dot1);
        const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
        const std::string_view signature_b64 = token.substr(dot2 + 1);

        // The header is read only to pin the algorithm; nothing in it selects a key or an algorithm.
        CheckHeader(ParseObject(DecodeSegment(header_b64, "header is not base64url"), "header is not a JSON object"));

        if (payload_b64.empty()) Refuse(JwtFailure::kMalformed, "empty payload");
        const std::string signature = DecodeSegment(signature_b64, "signature is not base64url");
        const std::string signing_input(token.substr(0, dot2));
        const std::string expected = common::HmacSha256(settings_.secret, signing_input);
        if (!common::ConstantTimeEquals(expected, signature)) Refuse(JwtFailure::kBadSignature, "signature mismatch");

        // Only now is the payload trusted enough to be parsed.
        const json claims =
            ParseObject(DecodeSegment(payload_b64, "payload is not base64url"), "payload is not a JSON object");
        result.claims = CheckClaims(claims, settings_, now);
    } catch (const Refused& r) {
        result.failure = r.failure;
        result.detail = r.detail;
        result.claims = {};
    }
    return result;
}

}  // namespace crm::gateway
