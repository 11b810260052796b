#include "crm/common/resource.hpp"

#include <algorithm>
#include <charconv>

#include "crm/common/crypto.hpp"
#include "crm/common/identity.hpp"

namespace crm::common {

std::string MakeEtag(std::int64_t version) { return "v" + std::to_string(version); }

std::optional<std::int64_t> ParseEtag(std::string_view etag) {
    if (etag.size() < 2 || etag.front() != 'v') return std::nullopt;
    const std::string_view digits = etag.substr(1);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

void CheckEtag(std::string_view expected, std::int64_t current_version) {
    if (!expected.empty() && expected != MakeEtag(current_version)) {
        throw ApiError::Aborted("the resource changed since it was read (etag mismatch); read it again and retry",
                                "ETAG_MISMATCH");
    }
}

std::string CheckId(Violations& violations, std::string_view value, const std::string& field) {
    if (!IsUuid(value)) {
        violations.Add(field, value.empty() ? "is required" : "must be a UUID");
        return {};
    }
    std::string lower(value);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

void CheckRequestId(Violations& violations, std::string_view value) {
    if (value.empty()) return;
    if (value.size() > kMaxRequestIdLength || !IsValidRequestId(value)) {
        violations.Add("request_id", "must be 1 to 64 printable ASCII characters without spaces");
    }
}

}  // namespace crm::common
