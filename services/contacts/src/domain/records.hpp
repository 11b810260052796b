#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/violations.hpp"
#include "domain/types.hpp"

// Validation and normalization of whole contacts and companies as a client sends them.
namespace crm::contacts::domain {

// Settings the wiring layer reads from configuration.
struct NormalizeSettings {
    // Calling code applied to phone numbers written without + or 00 (e.g. "1"); empty = such numbers are invalid.
    std::string default_calling_code;
};

struct ContactCheck {
    ContactFields contact;  // normalized; meaningful only when violations is empty
    common::Violations violations;
};

// Normalizes every field (names trimmed with inner whitespace collapsed, email lowercased, phone to E.164, tags
// normalized and de-duplicated in order, company_id lowercased, empty custom values dropped) and checks the limits
// of contacts.proto with the kit's validators (common::CheckText and friends on the normalized text: valid UTF-8, no
// control characters, lengths in characters), then the field's own syntax. With require_name_or_email, a given_name,
// family_name or email is required (a stored contact; a duplicate-search candidate needs less). `prefix` is the request
// field holding the contact ("contact", "candidate"); violations are named "<prefix>.<field>" ("contact.tags[3]").
// Custom field values are not checked against definitions here (see ValidateCustomFields).
ContactCheck NormalizeContact(const ContactFields& input, const NormalizeSettings& settings,
                              std::string_view prefix = "contact", bool require_name_or_email = true);

struct CompanyCheck {
    CompanyFields company;
    common::Violations violations;
};

// Same for a company: name (1..200; with require_name, required), domain normalized by NormalizeWebDomain, industry
// up to 200.
CompanyCheck NormalizeCompany(const CompanyFields& input, std::string_view prefix = "company",
                              bool require_name = true);

// List filters: a tag normalized as NormalizeTag (empty = no filter) and an owner id trimmed (at most 128 characters,
// no control characters); violations name `field`.
std::string NormalizeTagFilter(common::Violations& violations, std::string_view tag, std::string_view field);
std::string NormalizeOwnerFilter(common::Violations& violations, std::string_view owner_id, std::string_view field);

// Refuses control characters (NUL included) and invalid UTF-8 in every string of the record, tabs and line breaks
// excepted (normalization turns them into spaces, or custom field values keep them): the check an update applies to
// the whole patch before anything else, also to fields its mask leaves out. Violations are named as by
// NormalizeContact.
void RefuseControlCharacters(common::Violations& violations, const ContactFields& record, std::string_view prefix);
void RefuseControlCharacters(common::Violations& violations, const CompanyFields& record, std::string_view prefix);

// An etag a client sends back (AIP-154): empty, or one the service issued ("v<version>"); anything else is refused
// naming `field`.
void CheckEtagSyntax(common::Violations& violations, std::string_view etag, std::string_view field);

// "given family" trimmed; the email when both names are empty.
std::string DisplayName(std::string_view given_name, std::string_view family_name, std::string_view email);
inline std::string DisplayName(const ContactFields& contact) {
    return DisplayName(contact.given_name, contact.family_name, contact.email);
}

}  // namespace crm::contacts::domain
