#include "domain/records.hpp"

#include <algorithm>

#include "crm/common/resource.hpp"
#include "crm/common/text.hpp"
#include "crm/common/validate.hpp"
#include "domain/custom_fields.hpp"
#include "domain/normalize.hpp"

namespace crm::contacts::domain {
namespace {

// Violations of one record, named "<prefix>.<field>".
class Fields {
  public:
    Fields(common::Violations& violations, std::string_view prefix) : violations_(violations), prefix_(prefix) {}

    std::string Path(std::string_view field) const { return prefix_ + "." + std::string(field); }
    void Add(std::string_view field, std::string description) { violations_.Add(Path(field), std::move(description)); }
    common::Violations& violations() { return violations_; }

  private:
    common::Violations& violations_;
    std::string prefix_;
};

// A free-text field: whitespace trimmed and collapsed, then the kit's text check.
std::string NormalizeText(std::string_view value, std::string_view field, std::size_t max_chars, Fields& out) {
    std::string normalized = common::text::CollapseWhitespace(value);
    common::CheckText(out.violations(), normalized, out.Path(field), {.max_chars = max_chars});
    return normalized;
}

// A field with a syntax of its own (email, phone, web domain): trimmed, the kit's text check, then the normalizer,
// which applies the field's own length limit.
template <class Normalizer>
std::string NormalizeFormatted(std::string_view value, std::string_view field, Normalizer normalize, Fields& out) {
    const std::string trimmed = common::text::Trim(value);
    if (trimmed.empty() ||
        !common::CheckText(out.violations(), trimmed, out.Path(field), {.max_chars = trimmed.size()})) {
        return {};
    }
    Normalized normalized = normalize(trimmed);
    if (!normalized.ok()) {
        out.Add(field, std::move(normalized.error));
        return {};
    }
    return std::move(normalized.value);
}

std::string NormalizeOwnerId(std::string_view value, std::string_view field, Fields& out) {
    std::string owner = common::text::Trim(value);
    if (common::CheckToken(out.violations(), owner, out.Path(field), limits::kMaxOwnerIdLength) &&
        std::any_of(owner.begin(), owner.end(), [](char c) { return common::text::IsAsciiSpace(c); })) {
        out.Add(field, "must not contain spaces");
    }
    return owner;
}

std::vector<std::string> NormalizeTags(const std::vector<std::string>& input, Fields& out) {
    std::vector<std::string> tags;
    for (std::size_t i = 0; i < input.size(); ++i) {
        const std::string field = "tags[" + std::to_string(i) + "]";
        const std::string collapsed = common::text::CollapseWhitespace(input[i]);
        if (!common::CheckText(out.violations(), collapsed, out.Path(field), {.max_chars = limits::kMaxTagLength})) {
            continue;
        }
        Normalized tag = NormalizeTag(collapsed);
        if (!tag.ok()) {
            out.Add(field, std::move(tag.error));
        } else if (std::find(tags.begin(), tags.end(), tag.value) == tags.end()) {
            tags.push_back(std::move(tag.value));
        }
    }
    common::CheckListSize(out.violations(), tags.size(), out.Path("tags"), limits::kMaxTags);
    return tags;
}

CustomFields NormalizeCustomFieldMap(const CustomFields& input, std::string_view prefix, Fields& out) {
    CustomFieldsCheck check = NormalizeCustomFields(input, prefix);
    out.violations().Append(check.violations);
    return std::move(check.values);
}

// The kit's text check with line breaks allowed and no length bound: control characters and invalid UTF-8 only.
void RefuseControl(common::Violations& violations, std::string_view value, const std::string& field) {
    common::CheckText(violations, value, field, {.max_chars = value.size(), .multiline = true});
}

void RefuseControlInLists(common::Violations& violations, const std::vector<std::string>& tags,
                          const CustomFields& custom_fields, const Fields& names) {
    for (std::size_t i = 0; i < tags.size(); ++i) {
        RefuseControl(violations, tags[i], names.Path("tags[" + std::to_string(i) + "]"));
    }
    for (const auto& [key, value] : custom_fields) {
        if (common::text::HasControlCharacters(key) || !common::text::IsValidUtf8(key)) {
            violations.Add(names.Path("custom_fields"), "has a key with control characters or invalid UTF-8");
        } else {
            RefuseControl(violations, value, names.Path("custom_fields." + key));
        }
    }
}

}  // namespace

ContactCheck NormalizeContact(const ContactFields& input, const NormalizeSettings& settings, std::string_view prefix,
                              bool require_name_or_email) {
    ContactCheck check;
    Fields out(check.violations, prefix);
    ContactFields& c = check.contact;
    c.given_name = NormalizeText(input.given_name, "given_name", limits::kMaxNameLength, out);
    c.family_name = NormalizeText(input.family_name, "family_name", limits::kMaxNameLength, out);
    c.job_title = NormalizeText(input.job_title, "job_title", limits::kMaxNameLength, out);
    c.email = NormalizeFormatted(input.email, "email", NormalizeEmail, out);
    c.phone = NormalizeFormatted(
        input.phone, "phone",
        [&settings](std::string_view phone) { return NormalizePhone(phone, settings.default_calling_code); }, out);
    const std::string company_id = common::text::Trim(input.company_id);
    if (!company_id.empty()) c.company_id = common::CheckId(check.violations, company_id, out.Path("company_id"));
    c.owner_id = NormalizeOwnerId(input.owner_id, "owner_id", out);
    c.tags = NormalizeTags(input.tags, out);
    c.custom_fields = NormalizeCustomFieldMap(input.custom_fields, prefix, out);
    if (require_name_or_email && c.given_name.empty() && c.family_name.empty() &&
        common::text::Trim(input.email).empty()) {
        out.Add("given_name", "is required unless family_name or email is given");
    }
    return check;
}

CompanyCheck NormalizeCompany(const CompanyFields& input, std::string_view prefix, bool require_name) {
    CompanyCheck check;
    Fields out(check.violations, prefix);
    CompanyFields& c = check.company;
    c.name = NormalizeText(input.name, "name", limits::kMaxNameLength, out);
    if (require_name && c.name.empty()) out.Add("name", "is required");
    c.domain = NormalizeFormatted(input.domain, "domain", NormalizeWebDomain, out);
    c.industry = NormalizeText(input.industry, "industry", limits::kMaxNameLength, out);
    c.owner_id = NormalizeOwnerId(input.owner_id, "owner_id", out);
    c.tags = NormalizeTags(input.tags, out);
    c.custom_fields = NormalizeCustomFieldMap(input.custom_fields, prefix, out);
    return check;
}

std::string NormalizeTagFilter(common::Violations& violations, std::string_view tag, std::string_view field) {
    if (tag.empty()) return {};
    const std::string collapsed = common::text::CollapseWhitespace(tag);
    if (!common::CheckText(violations, collapsed, field, {.max_chars = limits::kMaxTagLength})) return {};
    Normalized normalized = NormalizeTag(collapsed);
    if (!normalized.ok()) violations.Add(std::string(field), std::move(normalized.error));
    return std::move(normalized.value);
}

std::string NormalizeOwnerFilter(common::Violations& violations, std::string_view owner_id, std::string_view field) {
    std::string owner = common::text::Trim(owner_id);
    common::CheckToken(violations, owner, field, limits::kMaxOwnerIdLength);
    return owner;
}

void RefuseControlCharacters(common::Violations& violations, const ContactFields& record, std::string_view prefix) {
    const Fields names(violations, prefix);
    for (const auto& [field, value] : {std::pair<const char*, const std::string&>{"given_name", record.given_name},
                                       {"family_name", record.family_name},
                                       {"email", record.email},
                                       {"phone", record.phone},
                                       {"job_title", record.job_title},
                                       {"company_id", record.company_id},
                                       {"owner_id", record.owner_id}}) {
        RefuseControl(violations, value, names.Path(field));
    }
    RefuseControlInLists(violations, record.tags, record.custom_fields, names);
}

void RefuseControlCharacters(common::Violations& violations, const CompanyFields& record, std::string_view prefix) {
    const Fields names(violations, prefix);
    for (const auto& [field, value] : {std::pair<const char*, const std::string&>{"name", record.name},
                                       {"domain", record.domain},
                                       {"industry", record.industry},
                                       {"owner_id", record.owner_id}}) {
        RefuseControl(violations, value, names.Path(field));
    }
    RefuseControlInLists(violations, record.tags, record.custom_fields, names);
}

void CheckEtagSyntax(common::Violations& violations, std::string_view etag, std::string_view field) {
    if (!etag.empty() && !common::ParseEtag(etag)) {
        violations.Add(std::string(field), "must be an etag the service returned (\"v\" and the version, e.g. \"v3\")");
    }
}

std::string DisplayName(std::string_view given_name, std::string_view family_name, std::string_view email) {
    std::string name = common::text::CollapseWhitespace(std::string(given_name) + " " + std::string(family_name));
    return name.empty() ? std::string(email) : name;
}

}  // namespace crm::contacts::domain
