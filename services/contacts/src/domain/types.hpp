#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crm/common/violations.hpp"

// Plain values the contacts rules work on. No gRPC, protobuf or database types here: the areas keep resources as
// crm.contacts.v1 messages and hand the rules only the values a rule needs (the writable fields of a record, a
// consent, custom field values).
namespace crm::contacts::domain {

// Microseconds since the Unix epoch, the precision of a PostgreSQL timestamptz.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// Custom field values by key (sorted, so comparisons and exports are deterministic).
using CustomFields = std::map<std::string, std::string>;

// Limits promised in contacts.proto. Lengths are in Unicode code points unless the name says bytes.
namespace limits {
inline constexpr std::size_t kMaxNameLength = 200;  // given/family name, job title, company name, industry, labels
inline constexpr std::size_t kMaxEmailLength = 254;
inline constexpr std::size_t kMaxEmailLocalLength = 64;
inline constexpr std::size_t kMaxPhoneInputLength = 64;
inline constexpr std::size_t kMinPhoneDigits = 8;
inline constexpr std::size_t kMaxPhoneDigits = 15;
inline constexpr std::size_t kMaxWebDomainLength = 253;
inline constexpr std::size_t kMaxTags = 50;
inline constexpr std::size_t kMaxTagLength = 64;
inline constexpr std::size_t kMaxCustomFields = 100;
inline constexpr std::size_t kMaxCustomFieldValueLength = 2000;
inline constexpr std::size_t kMaxCustomFieldDefinitionsPerEntity = 100;
inline constexpr std::size_t kMaxAllowedValues = 100;
inline constexpr std::size_t kMaxNumberLength = 40;
inline constexpr std::size_t kMaxOwnerIdLength = 128;
inline constexpr std::size_t kMaxConsentSourceLength = 200;
inline constexpr std::size_t kMaxSearchQueryLength = 200;
inline constexpr std::size_t kMaxSearchTerms = 5;
inline constexpr std::size_t kMinMergeLosers = 1;
inline constexpr std::size_t kMaxMergeLosers = 10;
}  // namespace limits

enum class ConsentStatus { kUnknown, kOptedIn, kOptedOut };

struct EmailConsent {
    ConsentStatus status = ConsentStatus::kUnknown;
    Timestamp change_time{};  // epoch while the status is unknown
    std::string source;

    friend bool operator==(const EmailConsent&, const EmailConsent&) = default;
};

// The client-writable fields of a contact (everything UpdateContact's mask can name).
struct ContactFields {
    std::string given_name;
    std::string family_name;
    std::string email;  // normalized: lowercase addr-spec
    std::string phone;  // normalized: E.164
    std::string job_title;
    std::string company_id;
    std::string owner_id;
    std::vector<std::string> tags;
    CustomFields custom_fields;

    friend bool operator==(const ContactFields&, const ContactFields&) = default;
};

// The client-writable fields of a company.
struct CompanyFields {
    std::string name;
    std::string domain;  // normalized web domain
    std::string industry;
    std::string owner_id;
    std::vector<std::string> tags;
    CustomFields custom_fields;

    friend bool operator==(const CompanyFields&, const CompanyFields&) = default;
};

}  // namespace crm::contacts::domain
