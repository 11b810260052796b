#pragma once
// Pure rules of a lead: the status lifecycle, priorities, and the validation and normalization of its fields. No gRPC,
// protobuf or database here, so all of it is unit-tested without I/O.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/violations.hpp"

namespace crm::leads::domain {

// --- lifecycle ----------------------------------------------------------------------------------------------------
enum class Status { kNew, kWorking, kNurturing, kQualified, kUnqualified, kConverted };
const char* StatusText(Status status);  // "NEW", ...
std::optional<Status> ParseStatus(std::string_view text);
bool IsOpen(Status status);  // not CONVERTED or UNQUALIFIED
// Whether ChangeLeadStatus may move from -> to (CONVERTED is never a target there).
bool TransitionAllowed(Status from, Status to);
// Whether ConvertLead may convert a lead in this status.
bool ConvertAllowed(Status from, bool allow_unqualified);

enum class Priority { kLow, kMedium, kHigh, kUrgent };
const char* PriorityText(Priority priority);  // "LOW", ...
std::optional<Priority> ParsePriority(std::string_view text);

// --- fields -------------------------------------------------------------------------------------------------------
inline constexpr std::size_t kMaxOwnerId = 128;
inline constexpr std::size_t kMaxStatusReason = 500;
inline constexpr std::size_t kMaxConsentText = 2000;  // line breaks allowed
inline constexpr std::size_t kMaxConsentVersion = 64;

struct LeadFields {
    std::string given_name, family_name, email, phone, company_name, job_title, country, region, source, campaign_id,
        owner_id, notes;
    Priority priority = Priority::kMedium;
    std::map<std::string, std::string> attributes;
};

// Trims and normalizes in place (email and source lowercased, country uppercased) and returns every violation, each
// prefixed with `prefix` ("lead."): control characters (NUL included) in any field, lengths, formats.
// require_identity: at least a name, an email or a phone.
common::Violations NormalizeLead(LeadFields& fields, const std::string& prefix, bool require_identity = true);
std::string EmailDomain(const std::string& email);
bool IsKey(std::string_view key);       // [a-z][a-z0-9_]{0,62}
bool IsSlug(std::string_view id);       // [a-z][a-z0-9_-]{0,62}
bool IsIsoDate(std::string_view date);  // "YYYY-MM-DD", a real calendar day
// A request's etag: empty, or one this service issued ("v<version>"); else a violation on `field`.
void CheckEtagSyntax(common::Violations& violations, std::string_view etag, const std::string& field);
// `text` quoted for an error description when it is printable, else a placeholder (descriptions never echo control
// characters back).
std::string Quoted(std::string_view text);

}  // namespace crm::leads::domain
