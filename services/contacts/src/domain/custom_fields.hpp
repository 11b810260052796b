#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/types.hpp"

// Tenant-defined custom fields: the rules of a definition and the check of values against them.
namespace crm::contacts::domain {

enum class CustomFieldEntity { kUnspecified, kContact, kCompany };

enum class CustomFieldType { kUnspecified, kText, kNumber, kBoolean, kDate, kSingleSelect };

// What a definition says about values (the stored resource is crm.contacts.v1.CustomFieldDefinition; its id and
// create_time are no concern of the rules).
struct CustomFieldDefinition {
    CustomFieldEntity entity = CustomFieldEntity::kUnspecified;
    std::string key;
    std::string label;
    CustomFieldType type = CustomFieldType::kUnspecified;
    bool required = false;
    std::vector<std::string> allowed_values;

    friend bool operator==(const CustomFieldDefinition&, const CustomFieldDefinition&) = default;
};

// [a-z][a-z0-9_]{0,62}
bool IsValidCustomFieldKey(std::string_view key);

// Optional sign, 1+ digits, optional '.' and 1+ digits; at most 40 characters ("42", "-3.25", "+0.5").
bool IsDecimalNumber(std::string_view value);

// "true" or "false" exactly.
bool IsBooleanLiteral(std::string_view value);

// "YYYY-MM-DD" naming a real day of the proleptic Gregorian calendar, years 0001..9999 (leap years honoured).
bool IsCalendarDate(std::string_view value);

struct DefinitionCheck {
    CustomFieldDefinition definition;  // label and allowed values trimmed
    common::Violations violations;
};

// Checks a definition a client wants to create; `prefix` is its request field ("custom_field_definition"). entity,
// key, label (1..200 characters) and type are required; allowed_values must be given exactly for SINGLE_SELECT (1..100
// distinct values of 1..200 characters).
DefinitionCheck NormalizeCustomFieldDefinition(const CustomFieldDefinition& input,
                                               std::string_view prefix = "custom_field_definition");

// Checks the complete custom field map of one record against the definitions of its entity. Each value must parse as
// its definition's type; a key without a definition is rejected; with enforce_required, every required definition
// must have a non-empty value. Violations name "<prefix>.custom_fields.<key>". Values are expected to be normalized
// already (no empty values; see NormalizeCustomFields).
common::Violations ValidateCustomFields(const CustomFields& values,
                                        const std::vector<CustomFieldDefinition>& definitions, std::string_view prefix,
                                        bool enforce_required);

struct CustomFieldsCheck {
    CustomFields values;  // without empty values
    common::Violations violations;
};

// The checks that need no definitions: at most 100 keys, valid key syntax, values of valid UTF-8 of at most 2000
// characters without control characters other than tab and line breaks (common::CheckText, multi-line). Values are
// trimmed; empty values are dropped (an empty value means "no value").
CustomFieldsCheck NormalizeCustomFields(const CustomFields& input, std::string_view prefix);

}  // namespace crm::contacts::domain
