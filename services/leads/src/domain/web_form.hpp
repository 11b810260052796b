#pragma once
// Pure rules of public web forms: signed form tokens, the bot checks of a submission, and the mapping of submitted
// fields to a lead's fields.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/violations.hpp"
#include "domain/lead.hpp"

namespace crm::leads::domain {

inline constexpr std::size_t kMaxFormFields = 50;
inline constexpr std::size_t kMaxSubmittedValue = 2000;

struct FormTokenClaims {
    std::string tenant;
    std::string form_id;
    // Milliseconds: with whole seconds a submission 10 ms after issue could pass a 1 s minimum fill time.
    std::int64_t issued_unix_ms = 0;
    std::string nonce;
};
std::string SignFormToken(const FormTokenClaims& claims, std::string_view key);
// nullopt when malformed or the signature does not verify.
std::optional<FormTokenClaims> VerifyFormToken(std::string_view token, std::string_view key);

// What a submission must show to pass as a person.
struct BotCheck {
    bool honeypot_filled = false;
    std::optional<FormTokenClaims> claims;  // the verified token, nullopt when it did not verify
    std::string tenant, form_id;            // of the submission
    std::int64_t now_unix_ms = 0;
    int min_fill_seconds = 0, token_ttl_seconds = 0;  // the form's
};
// "" when the submission passes the bot checks; else why it is refused.
std::string BotReason(const BotCheck& check);

// Whether a form may map a submitted field to `target`: a lead field or "attributes.<key>".
bool IsFormTarget(const std::string& target);

struct FormDefaults {
    std::string source, campaign_id;
    Priority priority = Priority::kMedium;
};
struct Submission {
    LeadFields fields;              // normalized
    common::Violations violations;  // named "fields" or "fields.<submitted name>"
};
// The lead fields of a submission, mapped by the form's field mapping (submitted name -> target; submitted fields it
// does not name are ignored), with the form's defaults, normalized and checked like a created lead.
Submission MapSubmission(const std::map<std::string, std::string>& mapping,
                         const std::map<std::string, std::string>& submitted, const FormDefaults& defaults);

}  // namespace crm::leads::domain
