#include "domain/template.hpp"

#include <algorithm>
#include <cctype>

#include "crm/common/html.hpp"
#include "crm/common/text.hpp"

namespace crm::marketing::domain {

using common::HtmlEscape;
namespace {

bool IsKnown(const std::string& name) {
    const auto& fields = MergeFields();
    return std::find(fields.begin(), fields.end(), name) != fields.end();
}

// The value of an href="..." attribute starting at `pos` (just after the opening quote), or npos.
std::size_t HrefEnd(std::string_view html, std::size_t pos) { return html.find('"', pos); }

}  // namespace

ParsedTemplate ParseTemplate(std::string_view text, std::string_view field, common::Violations& v) {
    ParsedTemplate out;
    const std::string f(field);
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t open = text.find("{{", at);
        if (open == std::string_view::npos) {
            out.parts.push_back({false, std::string(text.substr(at)), ""});
            break;
        }
        if (open > at) out.parts.push_back({false, std::string(text.substr(at, open - at)), ""});
        const std::size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            v.Add(f, "\"{{\" at position " + std::to_string(open) + " is not closed by \"}}\"");
            return out;
        }
        const std::string inner(text.substr(open + 2, close - open - 2));
        const std::size_t bar = inner.find('|');
        TemplatePart part;
        part.field = true;
        part.text = common::text::Trim(inner.substr(0, bar));
        if (!IsKnown(part.text)) {
            v.Add(f, "unknown merge field \"" + part.text + "\" at position " + std::to_string(open) +
                         "; known: contact.given_name, contact.family_name, contact.email, contact.job_title, "
                         "contact.company_name, campaign.name, unsubscribe_url");
        }
        if (bar != std::string::npos) {
            const std::string filter = common::text::Trim(inner.substr(bar + 1));
            const std::string prefix = "default:\"";
            if (filter.size() < prefix.size() + 1 || filter.rfind(prefix, 0) != 0 || filter.back() != '"' ||
                filter.find('"', prefix.size()) != filter.size() - 1) {
                v.Add(f, "the filter at position " + std::to_string(open) + " must be default:\"text\"");
            } else {
                part.default_value = filter.substr(prefix.size(), filter.size() - prefix.size() - 1);
            }
        }
        out.parts.push_back(std::move(part));
        at = close + 2;
    }
    return out;
}

std::string Render(const ParsedTemplate& parsed, const std::map<std::string, std::string>& values, Escape escape) {
    std::string out;
    for (const auto& part : parsed.parts) {
        if (!part.field) {
            out += part.text;
            continue;
        }
        auto it = values.find(part.text);
        std::string value = it == values.end() || it->second.empty() ? part.default_value : it->second;
        if (escape == Escape::kHtml) {
            out += HtmlEscape(value);
        } else if (escape == Escape::kHeader) {
            for (char& c : value) {
                if (c == '\r' || c == '\n' || c == '\t') c = ' ';
            }
            out += value;
        } else {
            out += value;
        }
    }
    return out;
}

std::vector<std::string> LinksOf(std::string_view html) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while ((at = html.find("href=\"", at)) != std::string_view::npos) {
        at += 6;
        const std::size_t end = HrefEnd(html, at);
        if (end == std::string_view::npos) break;
        const std::string url(html.substr(at, end - at));
        const std::string lower = common::text::AsciiLower(url);
        if ((lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0) &&
            std::find(out.begin(), out.end(), url) == out.end()) {
            out.push_back(url);
        }
        at = end;
    }
    return out;
}

std::string ReplaceLinks(std::string_view html, const std::map<std::string, std::string>& replacements) {
    std::string out;
    std::size_t at = 0;
    for (;;) {
        const std::size_t href = html.find("href=\"", at);
        if (href == std::string_view::npos) break;
        const std::size_t start = href + 6;
        const std::size_t end = HrefEnd(html, start);
        if (end == std::string_view::npos) break;
        out += html.substr(at, start - at);
        const std::string url(html.substr(start, end - start));
        auto it = replacements.find(url);
        out += it == replacements.end() ? url : it->second;
        at = end;
    }
    out += html.substr(at);
    return out;
}

std::string AddOpenPixel(std::string_view html, std::string_view pixel_url) {
    const std::string img =
        "<img src=\"" + HtmlEscape(pixel_url) +
        "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">";
    std::size_t body = std::string_view::npos;
    constexpr std::string_view kClose = "</body>";
    for (std::size_t i = 0; i + kClose.size() <= html.size(); ++i) {
        bool match = true;
        for (std::size_t k = 0; k < kClose.size() && match; ++k) {
            match = std::tolower(static_cast<unsigned char>(html[i + k])) == kClose[k];
        }
        if (match) body = i;
    }
    if (body == std::string_view::npos) return std::string(html) + img;
    return std::string(html.substr(0, body)) + img + std::string(html.substr(body));
}

}  // namespace crm::marketing::domain
