#include "authentication/jwt.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
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
constexpr size_t kMaxKidBytes = 256;
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

struct Header {
    JwtAlgorithm alg;
    std::string kid;
};

Header CheckHeader(const json& header) {
    auto alg = header.find("alg");
    std::optional<JwtAlgorithm> parsed;
    if (alg != header.end() && alg->is_string()) parsed = ParseJwtAlgorithm(alg->get_ref<const std::string&>());
    if (!parsed) Refuse(JwtFailure::kBadAlgorithm, "alg must be HS256, RS256 or ES256");
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
    Header out{*parsed, {}};
    if (auto kid = header.find("kid"); kid != header.end()) {
        if (!kid->is_string() || kid->get_ref<const std::string&>().size() > kMaxKidBytes) {
            Refuse(JwtFailure::kBadHeader, "kid must be a string of at most 256 bytes");
        }
        out.kid = kid->get<std::string>();
    }
    return out;
}

const json& Required(const json& claims, const char* name) {
    auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) Refuse(JwtFailure::kMissingClaim, name);
    return *it;
}

// The issuer named by the (not yet verified) payload: it only selects which configuration checks the token.
const JwtIssuer& FindIssuer(const json& claims, const std::vector<JwtIssuer>& issuers) {
    const json& iss = Required(claims, "iss");
    if (!iss.is_string()) Refuse(JwtFailure::kInvalidClaim, "iss must be a string");
    for (const auto& i : issuers) {
        if (i.issuer == iss.get_ref<const std::string&>()) return i;
    }
    Refuse(JwtFailure::kWrongIssuer, "iss");
}

void CheckSignature(const JwtIssuer& issuer, const Header& header, std::string_view signing_input,
                    const std::string& signature) {
    if (std::find(issuer.algorithms.begin(), issuer.algorithms.end(), header.alg) == issuer.algorithms.end()) {
        Refuse(JwtFailure::kBadAlgorithm, "alg not pinned for the issuer");
    }
    if (header.alg == JwtAlgorithm::kHS256) {
        const std::string expected = common::HmacSha256(issuer.hs256_secret, signing_input);
        if (!common::ConstantTimeEquals(expected, signature)) Refuse(JwtFailure::kBadSignature, "signature mismatch");
        return;
    }
    const auto key = issuer.keys->Find(header.kid, header.alg);
    if (!key) Refuse(JwtFailure::kUnknownKey, header.kid.empty() ? "no kid and not exactly one key" : "unknown kid");
    if (!key->Verify(header.alg, signing_input, signature)) Refuse(JwtFailure::kBadSignature, "signature mismatch");
}

JwtClaims CheckClaims(const json& claims, const JwtIssuer& settings, std::chrono::seconds leeway_s,
                      std::chrono::system_clock::time_point now) {
    const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::int64_t leeway = leeway_s.count();

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
    std::int64_t not_before = 0;
    if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
        not_before = NumericDate(*nbf, "nbf must be a NumericDate");
        if (not_before > now_s + leeway) Refuse(JwtFailure::kNotYetValid, "nbf");
    }
    if (auto iat = claims.find("iat"); iat != claims.end()) {
        const std::int64_t issued = NumericDate(*iat, "iat must be a NumericDate");
        if (issued > now_s + leeway) Refuse(JwtFailure::kNotYetValid, "iat in the future");
        if (issued > exp) Refuse(JwtFailure::kInvalidClaim, "iat after exp");
        not_before = std::max(not_before, issued);
    }

    JwtClaims out;
    out.expires_at = exp;
    out.not_before = not_before;
    out.issuer = settings.issuer;

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
        case JwtFailure::kUnknownKey:
            return "unknown_key";
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

JwtVerifier::JwtVerifier(JwtSettings settings) : leeway_(settings.leeway) {
    if (leeway_.count() < 0 || leeway_.count() > 300) {
        throw std::invalid_argument("the JWT leeway must be between 0 and 300 seconds");
    }
    if (!settings.secret.empty()) {
        issuers_.push_back({settings.issuer, settings.audience, {JwtAlgorithm::kHS256}, settings.secret, nullptr});
    }
    for (auto& i : settings.issuers) issuers_.push_back(std::move(i));
    if (issuers_.empty()) throw std::invalid_argument("no JWT issuer is configured");
    std::set<std::string> names;
    for (const auto& i : issuers_) {
        if (i.issuer.empty()) throw std::invalid_argument("the JWT issuer must not be empty");
        if (i.audience.empty()) throw std::invalid_argument("the JWT audience of " + i.issuer + " must not be empty");
        if (!names.insert(i.issuer).second)
            throw std::invalid_argument("the JWT issuer " + i.issuer + " is named twice");
        if (i.algorithms.empty()) throw std::invalid_argument("the JWT issuer " + i.issuer + " pins no algorithm");
        const bool hs = std::find(i.algorithms.begin(), i.algorithms.end(), JwtAlgorithm::kHS256) != i.algorithms.end();
        if (hs && i.algorithms.size() > 1) {
            throw std::invalid_argument("the JWT issuer " + i.issuer + " mixes HS256 with public-key algorithms");
        }
        if (hs && i.hs256_secret.size() < 32) throw std::invalid_argument("the HS256 secret must be at least 32 bytes");
        if (!hs && !i.keys) throw std::invalid_argument("the JWT issuer " + i.issuer + " has no key source");
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

        // The header only says which of the known algorithms and which key id; the issuer's configuration decides
        // whether that algorithm is acceptable and where the key comes from.
        const Header header = CheckHeader(
            ParseObject(DecodeSegment(header_b64, "header is not base64url"), "header is not a JSON object"));

        if (payload_b64.empty()) Refuse(JwtFailure::kMalformed, "empty payload");
        const std::string signature = DecodeSegment(signature_b64, "signature is not base64url");
        // The payload is parsed (strictly: no duplicate keys, bounded depth, 8 KiB at most) before the signature is
        // checked, only to read iss; no other claim is looked at before the signature verifies.
        const json claims =
            ParseObject(DecodeSegment(payload_b64, "payload is not base64url"), "payload is not a JSON object");
        const JwtIssuer& issuer = FindIssuer(claims, issuers_);
        CheckSignature(issuer, header, token.substr(0, dot2), signature);
        result.claims = CheckClaims(claims, issuer, leeway_, now);
    } catch (const Refused& r) {
        result.failure = r.failure;
        result.detail = r.detail;
        result.claims = {};
    }
    return result;
}

}  // namespace crm::gateway
