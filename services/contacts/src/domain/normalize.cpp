#include "domain/normalize.hpp"

#include <algorithm>

#include "crm/common/text.hpp"
#include "domain/types.hpp"

namespace crm::contacts::domain {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z'); }
bool IsPhoneSeparator(char c) { return c == ' ' || c == '.' || c == '-' || c == '(' || c == ')'; }

bool IsEmailLocalChar(char c) {
    static constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~.-";
    return IsLowerAlnum(c) || kSpecials.find(c) != std::string_view::npos;
}

// Lowercase host name: 2+ labels of [a-z0-9-]{1,63}, no label starts or ends with '-', last label not all digits.
bool IsValidHostName(std::string_view host) {
    if (host.empty() || host.size() > limits::kMaxWebDomainLength) return false;
    std::size_t labels = 0;
    std::string_view last;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = host.find('.', start);
        const std::string_view label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        if (!std::all_of(label.begin(), label.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; })) return false;
        ++labels;
        last = label;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return labels >= 2 && !std::all_of(last.begin(), last.end(), IsDigit);
}

std::string DigitsOf(std::string_view s) {
    std::string digits;
    std::copy_if(s.begin(), s.end(), std::back_inserter(digits), IsDigit);
    return digits;
}

}  // namespace

Normalized NormalizeEmail(std::string_view input) {
    const std::string email = common::text::AsciiLower(common::text::Trim(input));
    if (email.empty()) return {.value = {}, .error = "must not be empty"};
    if (email.size() > limits::kMaxEmailLength) return {.value = {}, .error = "is longer than 254 characters"};
    const std::size_t at = email.find('@');
    if (at == std::string::npos || email.find('@', at + 1) != std::string::npos) {
        return {.value = {}, .error = "must contain exactly one '@'"};
    }
    const std::string_view local = std::string_view(email).substr(0, at);
    const std::string_view domain = std::string_view(email).substr(at + 1);
    if (local.empty() || local.size() > limits::kMaxEmailLocalLength) {
        return {.value = {}, .error = "must have 1 to 64 characters before the '@'"};
    }
    if (!std::all_of(local.begin(), local.end(), IsEmailLocalChar) || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string_view::npos) {
        return {.value = {}, .error = "has invalid characters before the '@'"};
    }
    if (!IsValidHostName(domain)) return {.value = {}, .error = "has an invalid domain after the '@'"};
    return {.value = email, .error = {}};
}

bool IsValidCallingCode(std::string_view code) {
    return !code.empty() && code.size() <= 3 && code.front() != '0' && std::all_of(code.begin(), code.end(), IsDigit);
}

Normalized NormalizePhone(std::string_view input, std::string_view default_calling_code) {
    const std::string phone = common::text::Trim(input);
    if (phone.empty()) return {.value = {}, .error = "must not be empty"};
    if (common::text::Utf8Length(phone) > limits::kMaxPhoneInputLength) {
        return {.value = {}, .error = "is longer than 64 characters"};
    }
    bool international = false;
    for (std::size_t i = 0; i < phone.size(); ++i) {
        const char c = phone[i];
        if (c == '+') {
            if (i != 0) return {.value = {}, .error = "may have '+' only at the start"};
            international = true;
        } else if (!IsDigit(c) && !IsPhoneSeparator(c)) {
            return {.value = {}, .error = "may contain only digits, spaces and + . - ( )"};
        }
    }
    std::string digits = DigitsOf(phone);
    if (digits.empty()) return {.value = {}, .error = "has no digits"};
    if (!international && digits.starts_with("00")) {
        international = true;
        digits.erase(0, 2);
    }
    if (!international) {
        if (!IsValidCallingCode(default_calling_code)) {
            return {.value = {}, .error = "needs the international prefix (+ or 00) and the country calling code"};
        }
        if (default_calling_code == "1" && digits.size() == 11 && digits.front() == '1') {
            digits.erase(0, 1);
        } else if (default_calling_code != "39" && digits.front() == '0') {
            digits.erase(0, 1);
        }
        digits.insert(0, default_calling_code);
    }
    if (digits.empty() || digits.front() == '0') {
        return {.value = {}, .error = "has a country calling code starting with 0"};
    }
    if (digits.size() < limits::kMinPhoneDigits || digits.size() > limits::kMaxPhoneDigits) {
        return {.value = {}, .error = "must have 8 to 15 digits including the country calling code"};
    }
    return {.value = "+" + digits, .error = {}};
}

std::string NormalizeName(std::string_view name) { return common::text::FoldForMatching(name); }

std::string NormalizeFullName(std::string_view given_name, std::string_view family_name) {
    std::string full(given_name);
    full.push_back(' ');
    full.append(family_name);
    return NormalizeName(full);
}

Normalized NormalizeWebDomain(std::string_view input) {
    std::string host = common::text::AsciiLower(common::text::Trim(input));
    if (host.empty()) return {.value = {}, .error = "must not be empty"};
    if (const std::size_t scheme = host.find("://"); scheme != std::string::npos) host.erase(0, scheme + 3);
    if (const std::size_t path = host.find_first_of("/?#"); path != std::string::npos) host.erase(path);
    if (const std::size_t at = host.rfind('@'); at != std::string::npos) host.erase(0, at + 1);
    if (const std::size_t port = host.find(':'); port != std::string::npos) host.erase(port);
    if (!host.empty() && host.back() == '.') host.pop_back();
    if (host.starts_with("www.") && host.find('.', 4) != std::string::npos) host.erase(0, 4);
    if (!IsValidHostName(host)) return {.value = {}, .error = "is not a valid web domain such as example.com"};
    return {.value = host, .error = {}};
}

Normalized NormalizeTag(std::string_view input) {
    const std::string tag = common::text::AsciiLower(common::text::CollapseWhitespace(input));
    if (tag.empty()) return {.value = {}, .error = "must not be empty"};
    if (common::text::Utf8Length(tag) > limits::kMaxTagLength)
        return {.value = {}, .error = "is longer than 64 characters"};
    static constexpr std::string_view kPunctuation = " _-.:/";
    const bool allowed = std::all_of(tag.begin(), tag.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x80 || IsLowerAlnum(c) ||
               kPunctuation.find(c) != std::string_view::npos;
    });
    if (!allowed || common::text::HasControlCharacters(tag)) {
        return {.value = {}, .error = "may contain only letters, digits, spaces and _ - . : /"};
    }
    return {.value = tag, .error = {}};
}

std::vector<SearchTerm> ParseSearchQuery(std::string_view query) {
    const std::string trimmed = common::text::Trim(query);
    const bool phone_like = std::any_of(trimmed.begin(), trimmed.end(), IsDigit) &&
                            std::all_of(trimmed.begin(), trimmed.end(),
                                        [](char c) { return IsDigit(c) || IsPhoneSeparator(c) || c == '+'; });
    if (phone_like) {
        std::string digits = DigitsOf(trimmed);
        if (digits.starts_with("00")) digits.erase(0, 2);
        if (digits.empty()) return {};
        return {SearchTerm{.text = digits, .phone_prefix = "+" + digits}};
    }
    std::vector<SearchTerm> terms;
    const std::string folded = NormalizeName(trimmed);
    std::size_t start = 0;
    while (start < folded.size() && terms.size() < limits::kMaxSearchTerms) {
        std::size_t end = folded.find(' ', start);
        if (end == std::string::npos) end = folded.size();
        std::string term = folded.substr(start, end - start);
        const bool meaningful = std::any_of(
            term.begin(), term.end(), [](char c) { return IsLowerAlnum(c) || static_cast<unsigned char>(c) >= 0x80; });
        if (meaningful) terms.push_back(SearchTerm{.text = std::move(term), .phone_prefix = {}});
        start = end + 1;
    }
    return terms;
}

std::string PrefixUpperBound(std::string_view prefix) { return std::string(prefix) + "\xF4\x8F\xBF\xBF"; }

}  // namespace crm::contacts::domain
