#pragma once
// Email templates with merge fields, rendered safely: {{contact.given_name | default:"there"}}. A template is parsed
// once into literal text and fields; rendering substitutes values and never parses them again, so a value that holds
// "{{...}}" or markup is just text (no template injection). In HTML the values are escaped (& < > " '), in the
// plain-text part and the subject they are copied, with line breaks in the subject replaced by spaces (no header
// injection).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/violations.hpp"

namespace crm::marketing::domain {

// The merge fields a template may use.
inline const std::vector<std::string>& MergeFields() {
    static const std::vector<std::string> kFields = {"contact.given_name", "contact.family_name",  "contact.email",
                                                     "contact.job_title",  "contact.company_name", "campaign.name",
                                                     "unsubscribe_url"};
    return kFields;
}

struct TemplatePart {
    bool field = false;
    std::string text;           // the literal text, or the field's name
    std::string default_value;  // for a field without a value
};

struct ParsedTemplate {
    std::vector<TemplatePart> parts;
};

// Parses `text`; every problem (an unclosed "{{", an unknown field, a malformed filter) is a violation on `field`
// naming the position. Only the filter `default:"..."` exists.
ParsedTemplate ParseTemplate(std::string_view text, std::string_view field, common::Violations& violations);

enum class Escape { kNone, kHtml, kHeader };

std::string Render(const ParsedTemplate& parsed, const std::map<std::string, std::string>& values, Escape escape);

// The distinct http(s) URLs of href="..." attributes in HTML, in order of appearance.
std::vector<std::string> LinksOf(std::string_view html);
// `html` with each href="<url>" whose url is a key of `replacements` pointing to the mapped URL instead.
std::string ReplaceLinks(std::string_view html, const std::map<std::string, std::string>& replacements);

// `html` with the open-tracking image (a 1x1 <img> of `pixel_url`, escaped) right before the last "</body>" (any case),
// or at the end when there is none.
std::string AddOpenPixel(std::string_view html, std::string_view pixel_url);

}  // namespace crm::marketing::domain
