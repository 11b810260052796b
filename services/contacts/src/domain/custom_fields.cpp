#include "domain/custom_fields.hpp"

#include <algorithm>
#include <set>

#include "crm/common/civil_date.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"

namespace crm::contacts::domain {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string FieldPath(std::string_view prefix, std::string_view key) {
    std::string path(prefix);
    path.append(".custom_fields.");
    path.append(key);
    return path;
}

std::string CheckValue(const CustomFieldDefinition& definition, std::string_view value) {
    switch (definition.type) {
        case CustomFieldType::kText:
            return {};
        case CustomFieldType::kNumber:
            return IsDecimalNumber(value) ? std::string{} : "must be a decimal number such as 42 or -3.25";
        case CustomFieldType::kBoolean:
            return IsBooleanLiteral(value) ? std::string{} : "must be true or false";
        case CustomFieldType::kDate:
            return IsCalendarDate(value) ? std::string{} : "must be a date written YYYY-MM-DD";
        case CustomFieldType::kSingleSelect: {
            const auto& allowed = definition.allowed_values;
            return std::find(allowed.begin(), allowed.end(), value) != allowed.end()
                       ? std::string{}
                       : "must be one of the field's allowed values";
        }
        case CustomFieldType::kUnspecified:
            break;
    }
    return "has a definition without a type";
}

}  // namespace

bool IsValidCustomFieldKey(std::string_view key) {
    if (key.empty() || key.size() > 63 || key.front() < 'a' || key.front() > 'z') return false;
    return std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '_'; });
}

bool IsDecimalNumber(std::string_view value) {
    if (value.empty() || value.size() > limits::kMaxNumberLength) return false;
    if (value.front() == '+' || value.front() == '-') value.remove_prefix(1);
    const std::size_t dot = value.find('.');
    const std::string_view whole = value.substr(0, dot);
    if (whole.empty() || !std::all_of(whole.begin(), whole.end(), IsDigit)) return false;
    if (dot == std::string_view::npos) return true;
    const std::string_view fraction = value.substr(dot + 1);
    return !fraction.empty() && std::all_of(fraction.begin(), fraction.end(), IsDigit);
}

bool IsBooleanLiteral(std::string_view value) { return value == "true" || value == "false"; }

bool IsCalendarDate(std::string_view value) {
    const auto date = common::ParseIsoDate(value);
    return date && date->year >= 1;
}

DefinitionCheck NormalizeCustomFieldDefinition(const CustomFieldDefinition& input, std::string_view prefix) {
    DefinitionCheck check{.definition = input, .violations = {}};
    CustomFieldDefinition& def = check.definition;
    common::Violations& v = check.violations;
    const std::string base = std::string(prefix) + ".";
    if (def.entity == CustomFieldEntity::kUnspecified) v.Add(base + "entity", "is required");
    if (common::CheckToken(v, def.key, base + "key", 63, true) && !IsValidCustomFieldKey(def.key)) {
        v.Add(base + "key", "must match [a-z][a-z0-9_]{0,62}: a lowercase letter, then lowercase letters, digits or _");
    }
    def.label = common::text::CollapseWhitespace(def.label);
    if (def.label.empty()) {
        v.Add(base + "label", "is required");
    } else {
        common::CheckText(v, def.label, base + "label", {.max_chars = limits::kMaxNameLength});
    }
    if (def.type == CustomFieldType::kUnspecified) v.Add(base + "type", "is required");
    if (def.type != CustomFieldType::kSingleSelect) {
        if (!def.allowed_values.empty()) v.Add(base + "allowed_values", "is only allowed for SINGLE_SELECT fields");
        return check;
    }
    if (def.allowed_values.empty()) v.Add(base + "allowed_values", "must list at least one value for SINGLE_SELECT");
    common::CheckListSize(v, def.allowed_values.size(), base + "allowed_values", limits::kMaxAllowedValues);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < def.allowed_values.size(); ++i) {
        std::string& value = def.allowed_values[i];
        value = common::text::CollapseWhitespace(value);
        const std::string field = base + "allowed_values[" + std::to_string(i) + "]";
        if (value.empty()) {
            v.Add(field, "must not be empty");
        } else if (common::CheckText(v, value, field, {.max_chars = limits::kMaxNameLength}) &&
                   !seen.insert(value).second) {
            v.Add(field, "repeats an earlier value");
        }
    }
    return check;
}

common::Violations ValidateCustomFields(const CustomFields& values,
                                        const std::vector<CustomFieldDefinition>& definitions, std::string_view prefix,
                                        bool enforce_required) {
    common::Violations violations;
    for (const auto& [key, value] : values) {
        const auto def = std::find_if(definitions.begin(), definitions.end(),
                                      [&key](const CustomFieldDefinition& d) { return d.key == key; });
        if (def == definitions.end()) {
            violations.Add(FieldPath(prefix, key), "is not a defined custom field");
            continue;
        }
        if (std::string error = CheckValue(*def, value); !error.empty()) {
            violations.Add(FieldPath(prefix, key), std::move(error));
        }
    }
    if (enforce_required) {
        for (const CustomFieldDefinition& def : definitions) {
            const auto it = values.find(def.key);
            if (def.required && (it == values.end() || it->second.empty())) {
                violations.Add(FieldPath(prefix, def.key), "is required");
            }
        }
    }
    return violations;
}

CustomFieldsCheck NormalizeCustomFields(const CustomFields& input, std::string_view prefix) {
    CustomFieldsCheck check;
    for (const auto& [key, raw_value] : input) {
        const std::string value = common::text::Trim(raw_value);
        const std::string field = FieldPath(prefix, key);
        if (!IsValidCustomFieldKey(key)) {
            check.violations.Add(field, "is not a valid custom field key");
        } else if (common::CheckText(check.violations, value, field,
                                     {.max_chars = limits::kMaxCustomFieldValueLength, .multiline = true}) &&
                   !value.empty()) {
            check.values.emplace(key, value);
        }
    }
    common::CheckListSize(check.violations, check.values.size(), std::string(prefix) + ".custom_fields",
                          limits::kMaxCustomFields);
    return check;
}

}  // namespace crm::contacts::domain
