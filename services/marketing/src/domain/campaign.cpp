#include "domain/campaign.hpp"

#include <cctype>

#include "crm/common/civil_date.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"

namespace crm::marketing::domain {
namespace {

bool IsUtmChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'; }

}  // namespace

const char* StatusText(CampaignStatus status) {
    switch (status) {
        case CampaignStatus::kPlanned:
            return "PLANNED";
        case CampaignStatus::kActive:
            return "ACTIVE";
        case CampaignStatus::kCompleted:
            return "COMPLETED";
        case CampaignStatus::kAborted:
            return "ABORTED";
    }
    return "PLANNED";
}

std::optional<CampaignStatus> ParseStatus(std::string_view text) {
    if (text == "PLANNED") return CampaignStatus::kPlanned;
    if (text == "ACTIVE") return CampaignStatus::kActive;
    if (text == "COMPLETED") return CampaignStatus::kCompleted;
    if (text == "ABORTED") return CampaignStatus::kAborted;
    return std::nullopt;
}

bool IsFinal(CampaignStatus status) {
    return status == CampaignStatus::kCompleted || status == CampaignStatus::kAborted;
}

bool CanTransition(CampaignStatus from, CampaignStatus to) {
    if (from == to) return true;
    switch (from) {
        case CampaignStatus::kPlanned:
            return to == CampaignStatus::kActive || to == CampaignStatus::kAborted;
        case CampaignStatus::kActive:
            return to == CampaignStatus::kCompleted || to == CampaignStatus::kAborted;
        default:
            return false;
    }
}

std::optional<std::int64_t> ParseDate(std::string_view text) {
    const auto date = common::ParseIsoDate(text);
    if (!date || !common::InSuiteRange(*date)) return std::nullopt;
    return common::DaysFromCivil(*date);
}

std::optional<std::int64_t> CheckDate(common::Violations& violations, std::string_view value, std::string_view field,
                                      bool required) {
    if (value.empty()) {
        if (required) violations.Add(std::string(field), "required: a date YYYY-MM-DD");
        return std::nullopt;
    }
    auto days = ParseDate(value);
    if (!days) violations.Add(std::string(field), "must be a calendar date YYYY-MM-DD between 1900 and 2199");
    return days;
}

std::string CheckUtmValue(common::Violations& violations, std::string_view value, std::string_view field,
                          bool required) {
    const std::string lowered = common::text::AsciiLower(value);
    if (lowered.empty()) {
        if (required) violations.Add(std::string(field), "required");
        return "";
    }
    if (lowered.size() > kMaxUtmChars) {
        violations.Add(std::string(field), "at most 100 characters");
        return "";
    }
    for (char c : lowered) {
        if (!IsUtmChar(c)) {
            violations.Add(std::string(field), "only letters a-z, digits, '.', '_' and '-' are allowed");
            return "";
        }
    }
    return lowered;
}

std::string UtmSlug(std::string_view name) {
    std::string out;
    bool dash = false;
    for (char raw : name) {
        const unsigned char c = static_cast<unsigned char>(raw);
        if (std::isalnum(c) && c < 0x80) {
            if (dash && !out.empty()) out += '-';
            dash = false;
            out += static_cast<char>(std::tolower(c));
            if (out.size() >= kMaxUtmChars) break;
        } else {
            dash = true;
        }
    }
    if (out.size() > kMaxUtmChars) out.resize(kMaxUtmChars);
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "campaign" : out;
}

bool CheckDestinationUrl(common::Violations& violations, std::string_view url, std::string_view field) {
    const std::string f(field);
    if (url.empty()) {
        violations.Add(f, "required: an absolute http or https URL");
        return false;
    }
    if (!common::CheckText(violations, url, field, {.max_chars = kMaxUrlChars})) return false;
    for (char c : url) {
        if (c == ' ' || static_cast<unsigned char>(c) >= 0x80 || c == '"' || c == '<' || c == '>' || c == '\\') {
            violations.Add(f,
                           "must not contain spaces, quotes, angle brackets, backslashes or non-ASCII characters "
                           "(percent-encode them)");
            return false;
        }
    }
    const std::string lower = common::text::AsciiLower(url);
    std::size_t host_start;
    if (lower.rfind("https://", 0) == 0) {
        host_start = 8;
    } else if (lower.rfind("http://", 0) == 0) {
        host_start = 7;
    } else {
        violations.Add(f, "must start with http:// or https://");
        return false;
    }
    const std::size_t host_end = url.find_first_of("/?#", host_start);
    const std::string_view authority =
        url.substr(host_start, host_end == std::string_view::npos ? std::string_view::npos : host_end - host_start);
    if (authority.empty() || authority.find('@') != std::string_view::npos || authority.front() == ':' ||
        authority.front() == '.') {
        violations.Add(f, "must name a host (and no user information)");
        return false;
    }
    return true;
}

std::string AppendUtm(std::string_view url, const UtmParameters& utm) {
    const std::size_t hash = url.find('#');
    const std::string_view before_fragment = url.substr(0, hash);
    const std::string_view fragment = hash == std::string_view::npos ? std::string_view() : url.substr(hash);
    const std::size_t q = before_fragment.find('?');
    std::string out(before_fragment.substr(0, q));
    std::vector<std::string> params;
    if (q != std::string_view::npos) {
        std::string_view query = before_fragment.substr(q + 1);
        while (!query.empty()) {
            const std::size_t amp = query.find('&');
            const std::string_view part = query.substr(0, amp);
            const std::string key = common::text::AsciiLower(part.substr(0, part.find('=')));
            if (!part.empty() && key.rfind("utm_", 0) != 0) params.emplace_back(part);
            if (amp == std::string_view::npos) break;
            query.remove_prefix(amp + 1);
        }
    }
    // UTM values are [a-z0-9._-]: nothing to percent-encode.
    params.push_back("utm_source=" + utm.source);
    params.push_back("utm_medium=" + utm.medium);
    params.push_back("utm_campaign=" + utm.campaign);
    if (!utm.content.empty()) params.push_back("utm_content=" + utm.content);
    if (!utm.term.empty()) params.push_back("utm_term=" + utm.term);
    out += '?';
    for (std::size_t i = 0; i < params.size(); ++i) out += (i ? "&" : "") + params[i];
    out += fragment;
    return out;
}

}  // namespace crm::marketing::domain
