#include "domain/lead.hpp"

#include <algorithm>

#include "crm/common/civil_date.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"

namespace crm::leads::domain {
namespace {

constexpr std::size_t kMaxEmail = 254;
constexpr std::size_t kMaxPhone = 64;
constexpr std::size_t kMaxAttributes = 50;
constexpr std::size_t kMaxAttributeValue = 500;

bool IsValidEmail(const std::string& email) {
    const auto at = email.find('@');
    if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos) return false;
    const std::string domain = email.substr(at + 1);
    const auto dot = domain.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 2 > domain.size()) return false;
    for (char c : email) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
        if (c == '(' || c == ')' || c == '<' || c == '>' || c == ',' || c == ';' || c == ':' || c == '\\' || c == '"' ||
            c == '[' || c == ']')
            return false;
    }
    return domain.find("..") == std::string::npos;
}

bool IsValidPhone(const std::string& phone) {
    int digits = 0;
    for (char c : phone) {
        if (c >= '0' && c <= '9') {
            ++digits;
        } else if (c != '+' && c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' && c != '/') {
            return false;
        }
    }
    return digits >= 5 && digits <= 15;
}

}  // namespace

// --- lifecycle ----------------------------------------------------------------------------------------------------
const char* StatusText(Status status) {
    switch (status) {
        case Status::kNew:
            return "NEW";
        case Status::kWorking:
            return "WORKING";
        case Status::kNurturing:
            return "NURTURING";
        case Status::kQualified:
            return "QUALIFIED";
        case Status::kUnqualified:
            return "UNQUALIFIED";
        case Status::kConverted:
            return "CONVERTED";
    }
    return "NEW";
}

std::optional<Status> ParseStatus(std::string_view text) {
    for (Status s : {Status::kNew, Status::kWorking, Status::kNurturing, Status::kQualified, Status::kUnqualified,
                     Status::kConverted}) {
        if (text == StatusText(s)) return s;
    }
    return std::nullopt;
}

bool IsOpen(Status status) { return status != Status::kConverted && status != Status::kUnqualified; }

bool TransitionAllowed(Status from, Status to) {
    if (from == to || to == Status::kConverted || to == Status::kNew) return false;
    switch (from) {
        case Status::kNew:
        case Status::kWorking:
        case Status::kNurturing:
        case Status::kQualified:
            return true;  // to any of WORKING, NURTURING, QUALIFIED, UNQUALIFIED except itself
        case Status::kUnqualified:
            return to == Status::kWorking;
        case Status::kConverted:
            return false;
    }
    return false;
}

bool ConvertAllowed(Status from, bool allow_unqualified) {
    return from == Status::kQualified || (allow_unqualified && from == Status::kWorking);
}

const char* PriorityText(Priority priority) {
    switch (priority) {
        case Priority::kLow:
            return "LOW";
        case Priority::kMedium:
            return "MEDIUM";
        case Priority::kHigh:
            return "HIGH";
        case Priority::kUrgent:
            return "URGENT";
    }
    return "MEDIUM";
}

std::optional<Priority> ParsePriority(std::string_view text) {
    for (Priority p : {Priority::kLow, Priority::kMedium, Priority::kHigh, Priority::kUrgent}) {
        if (text == PriorityText(p)) return p;
    }
    return std::nullopt;
}

// --- fields -------------------------------------------------------------------------------------------------------
bool IsKey(std::string_view key) {
    if (key.empty() || key.size() > 63 || key[0] < 'a' || key[0] > 'z') return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool IsSlug(std::string_view id) {
    if (id.empty() || id.size() > 63 || id[0] < 'a' || id[0] > 'z') return false;
    return std::all_of(id.begin(), id.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

bool IsIsoDate(std::string_view date) { return common::ParseIsoDate(date).has_value(); }

void CheckEtagSyntax(common::Violations& violations, std::string_view etag, const std::string& field) {
    if (!etag.empty() && !common::ParseEtag(etag)) {
        violations.Add(field, "is not an etag this service issued: send back the etag of the last read, or none");
    }
}

std::string Quoted(std::string_view text) {
    if (!common::text::IsValidUtf8(text) || common::text::HasControlCharacters(text) || text.size() > 200) {
        return "(a value with control characters or too long)";
    }
    return "\"" + std::string(text) + "\"";
}

std::string EmailDomain(const std::string& email) {
    const auto at = email.find('@');
    return at == std::string::npos ? std::string() : email.substr(at + 1);
}

common::Violations NormalizeLead(LeadFields& f, const std::string& prefix, bool require_identity) {
    common::Violations v;
    for (std::string* s : {&f.given_name, &f.family_name, &f.email, &f.phone, &f.company_name, &f.job_title, &f.country,
                           &f.region, &f.source, &f.campaign_id, &f.owner_id}) {
        *s = common::text::Trim(*s);
    }
    f.email = common::text::AsciiLower(f.email);
    f.source = common::text::AsciiLower(f.source);
    std::transform(f.country.begin(), f.country.end(), f.country.begin(),
                   [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; });

    common::CheckText(v, f.given_name, prefix + "given_name", common::kName);
    common::CheckText(v, f.family_name, prefix + "family_name", common::kName);
    common::CheckText(v, f.company_name, prefix + "company_name", common::kName);
    common::CheckText(v, f.job_title, prefix + "job_title", common::kName);
    common::CheckText(v, f.region, prefix + "region", common::kName);
    common::CheckText(v, f.source, prefix + "source", common::kName);
    common::CheckToken(v, f.campaign_id, prefix + "campaign_id", 200);
    common::CheckToken(v, f.owner_id, prefix + "owner_id", kMaxOwnerId);
    common::CheckText(v, f.notes, prefix + "notes", common::kNotes);
    if (!f.email.empty() && common::CheckText(v, f.email, prefix + "email", {.max_chars = kMaxEmail}) &&
        !IsValidEmail(f.email)) {
        v.Add(prefix + "email", "must be a plain address such as name@example.com");
    }
    if (!f.phone.empty() && common::CheckText(v, f.phone, prefix + "phone", {.max_chars = kMaxPhone}) &&
        !IsValidPhone(f.phone)) {
        v.Add(prefix + "phone", "must be 5 to 15 digits with optional + ( ) - . / and spaces");
    }
    if (!f.country.empty() && (f.country.size() != 2 || !std::all_of(f.country.begin(), f.country.end(),
                                                                     [](char c) { return c >= 'A' && c <= 'Z'; }))) {
        v.Add(prefix + "country", "must be an ISO 3166-1 alpha-2 code such as DE");
    }
    common::CheckListSize(v, f.attributes.size(), prefix + "attributes", kMaxAttributes);
    for (auto& [key, value] : f.attributes) {
        if (!IsKey(key)) v.Add(prefix + "attributes", "key " + Quoted(key) + " must match [a-z][a-z0-9_]{0,62}");
        value = common::text::Trim(value);
        common::CheckText(v, value, prefix + "attributes." + (IsKey(key) ? key : std::string("<key>")),
                          {.max_chars = kMaxAttributeValue});
    }
    if (require_identity && f.given_name.empty() && f.family_name.empty() && f.email.empty() && f.phone.empty()) {
        v.Add(prefix + "email", "a lead needs at least a name, an email or a phone");
    }
    return v;
}

}  // namespace crm::leads::domain
