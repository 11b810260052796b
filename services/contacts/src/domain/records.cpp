#include "domain/records.hpp"

#include <algorithm>
#include <charconv>

#include "crm/common/text.hpp"
#include "domain/custom_fields.hpp"
#include "domain/normalize.hpp"

namespace crm::contacts::domain {
namespace {

class ViolationSink {
  public:
    explicit ViolationSink(std::string_view prefix) : prefix_(prefix) {}

    void Add(std::string_view field, std::string description) {
        violations_.push_back({prefix_ + "." + std::string(field), std::move(description)});
    }
    void Append(FieldViolations more) {
        violations_.insert(violations_.end(), std::make_move_iterator(more.begin()),
                           std::make_move_iterator(more.end()));
    }
    FieldViolations Take() { return std::move(violations_); }

  private:
    std::string prefix_;
    FieldViolations violations_;
};

// Trims and collapses a free-text field and checks its length; returns the normalized value.
std::string NormalizeText(std::string_view value, std::string_view field, std::size_t max_length, ViolationSink& sink) {
    std::string normalized = common::text::CollapseWhitespace(value);
    if (common::text::Utf8Length(normalized) > max_length) {
        sink.Add(field, "is longer than " + std::to_string(max_length) + " characters");
    } else if (common::text::HasControlCharacters(normalized)) {
        sink.Add(field, "must not contain control characters");
    }
    return normalized;
}

std::string NormalizeOwnerId(std::string_view value, std::string_view field, ViolationSink& sink) {
    std::string owner = common::text::Trim(value);
    if (owner.size() > limits::kMaxOwnerIdLength) {
        sink.Add(field, "is longer than 128 characters");
    } else if (common::text::HasControlCharacters(owner) ||
               std::any_of(owner.begin(), owner.end(), [](char c) { return common::text::IsAsciiSpace(c); })) {
        sink.Add(field, "must not contain spaces or control characters");
    }
    return owner;
}

std::vector<std::string> NormalizeTags(const std::vector<std::string>& input, ViolationSink& sink) {
    std::vector<std::string> tags;
    for (std::size_t i = 0; i < input.size(); ++i) {
        Normalized tag = NormalizeTag(input[i]);
        if (!tag.ok()) {
            sink.Add("tags[" + std::to_string(i) + "]", std::move(tag.error));
        } else if (std::find(tags.begin(), tags.end(), tag.value) == tags.end()) {
            tags.push_back(std::move(tag.value));
        }
    }
    if (tags.size() > limits::kMaxTags) sink.Add("tags", "has more than 50 tags");
    return tags;
}

CustomFields NormalizeCustomFieldMap(const CustomFields& input, std::string_view prefix, ViolationSink& sink) {
    CustomFieldsCheck check = NormalizeCustomFields(input, prefix);
    sink.Append(std::move(check.violations));
    return std::move(check.values);
}

}  // namespace

ContactCheck NormalizeContact(const ContactFields& input, const NormalizeSettings& settings, std::string_view prefix,
                              bool require_name_or_email) {
    ViolationSink sink(prefix);
    ContactFields out;
    out.given_name = NormalizeText(input.given_name, "given_name", limits::kMaxNameLength, sink);
    out.family_name = NormalizeText(input.family_name, "family_name", limits::kMaxNameLength, sink);
    out.job_title = NormalizeText(input.job_title, "job_title", limits::kMaxNameLength, sink);
    if (!common::text::Trim(input.email).empty()) {
        Normalized email = NormalizeEmail(input.email);
        if (email.ok()) {
            out.email = std::move(email.value);
        } else {
            sink.Add("email", std::move(email.error));
        }
    }
    if (!common::text::Trim(input.phone).empty()) {
        Normalized phone = NormalizePhone(input.phone, settings.default_calling_code);
        if (phone.ok()) {
            out.phone = std::move(phone.value);
        } else {
            sink.Add("phone", std::move(phone.error));
        }
    }
    out.company_id = common::text::AsciiLower(common::text::Trim(input.company_id));
    if (!out.company_id.empty() && !IsUuid(out.company_id)) sink.Add("company_id", "must be a company id (a UUID)");
    out.owner_id = NormalizeOwnerId(input.owner_id, "owner_id", sink);
    out.tags = NormalizeTags(input.tags, sink);
    out.custom_fields = NormalizeCustomFieldMap(input.custom_fields, prefix, sink);
    if (require_name_or_email && out.given_name.empty() && out.family_name.empty() &&
        common::text::Trim(input.email).empty()) {
        sink.Add("given_name", "is required unless family_name or email is given");
    }
    return {.contact = std::move(out), .violations = sink.Take()};
}

CompanyCheck NormalizeCompany(const CompanyFields& input, std::string_view prefix) {
    ViolationSink sink(prefix);
    CompanyFields out;
    out.name = NormalizeText(input.name, "name", limits::kMaxNameLength, sink);
    if (out.name.empty()) sink.Add("name", "is required");
    if (!common::text::Trim(input.domain).empty()) {
        Normalized domain = NormalizeWebDomain(input.domain);
        if (domain.ok()) {
            out.domain = std::move(domain.value);
        } else {
            sink.Add("domain", std::move(domain.error));
        }
    }
    out.industry = NormalizeText(input.industry, "industry", limits::kMaxNameLength, sink);
    out.owner_id = NormalizeOwnerId(input.owner_id, "owner_id", sink);
    out.tags = NormalizeTags(input.tags, sink);
    out.custom_fields = NormalizeCustomFieldMap(input.custom_fields, prefix, sink);
    return {.company = std::move(out), .violations = sink.Take()};
}

std::string DisplayName(const ContactFields& contact) {
    std::string name = common::text::CollapseWhitespace(contact.given_name + " " + contact.family_name);
    return name.empty() ? contact.email : name;
}

}  // namespace crm::contacts::domain
