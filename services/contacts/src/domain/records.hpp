#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crm/common/crypto.hpp"
#include "crm/common/resource.hpp"
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
    FieldViolations violations;
};

// Normalizes every field (names trimmed with inner whitespace collapsed, email lowercased, phone to E.164, tags
// normalized and de-duplicated in order, company_id lowercased, empty custom values dropped) and checks the limits
// of contacts.proto. With require_name_or_email, a given_name, family_name or email is required (a stored contact;
// a duplicate-search candidate needs less). `prefix` is the request field holding the contact ("contact",
// "candidate"); violations are named "<prefix>.<field>" ("contact.tags[3]").
// Custom field values are not checked against definitions here (see ValidateCustomFields).
ContactCheck NormalizeContact(const ContactFields& input, const NormalizeSettings& settings,
                              std::string_view prefix = "contact", bool require_name_or_email = true);

struct CompanyCheck {
    CompanyFields company;
    FieldViolations violations;
};

// Same for a company: name required (1..200), domain normalized by NormalizeWebDomain, industry up to 200.
CompanyCheck NormalizeCompany(const CompanyFields& input, std::string_view prefix = "company");

// "given family" trimmed; the email when both names are empty.
std::string DisplayName(const ContactFields& contact);

// Ids and etags follow the suite-wide conventions of common/.
using crm::common::IsUuid;
using crm::common::MakeEtag;
using crm::common::ParseEtag;

}  // namespace crm::contacts::domain
