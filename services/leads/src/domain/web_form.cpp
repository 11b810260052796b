#include "domain/web_form.hpp"

#include <set>
#include <stdexcept>
#include <vector>

#include "crm/common/crypto.hpp"
#include "crm/common/validate.hpp"

namespace crm::leads::domain {

std::string SignFormToken(const FormTokenClaims& c, std::string_view key) {
    const std::string payload = c.tenant + "|" + c.form_id + "|" + std::to_string(c.issued_unix_ms) + "|" + c.nonce;
    const std::string body = common::Base64UrlEncode(payload);
    return body + "." + common::Base64UrlEncode(common::HmacSha256(key, "crm.leads.form-token|" + body));
}

std::optional<FormTokenClaims> VerifyFormToken(std::string_view token, std::string_view key) {
    if (token.size() > 1024) return std::nullopt;
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string body(token.substr(0, dot));
    std::string signature, payload;
    try {
        signature = common::Base64UrlDecode(token.substr(dot + 1));
        payload = common::Base64UrlDecode(body);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (!common::ConstantTimeEquals(signature, common::HmacSha256(key, "crm.leads.form-token|" + body))) {
        return std::nullopt;
    }
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= payload.size(); ++i) {
        if (i == payload.size() || payload[i] == '|') {
            parts.push_back(payload.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() != 4) return std::nullopt;
    FormTokenClaims c{parts[0], parts[1], 0, parts[3]};
    try {
        c.issued_unix_ms = std::stoll(parts[2]);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return c;
}

std::string BotReason(const BotCheck& c) {
    if (c.honeypot_filled) return "the hidden field was filled";
    if (!c.claims || c.claims->tenant != c.tenant || c.claims->form_id != c.form_id) {
        return "the form token is not valid for this form";
    }
    const std::int64_t age_ms = c.now_unix_ms - c.claims->issued_unix_ms;
    if (age_ms < std::int64_t{c.min_fill_seconds} * 1000) return "the form was submitted too fast";
    if (age_ms > std::int64_t{c.token_ttl_seconds} * 1000) return "the form token expired; reload the form";
    return "";
}

bool IsFormTarget(const std::string& target) {
    static const std::set<std::string> kTargets = {"given_name", "family_name", "email",  "phone", "company_name",
                                                   "job_title",  "country",     "region", "notes"};
    return kTargets.count(target) > 0 || (target.rfind("attributes.", 0) == 0 && IsKey(target.substr(11)));
}

Submission MapSubmission(const std::map<std::string, std::string>& mapping,
                         const std::map<std::string, std::string>& submitted, const FormDefaults& defaults) {
    Submission out;
    common::Violations v;
    common::CheckListSize(v, submitted.size(), "fields", kMaxFormFields);
    LeadFields& f = out.fields;
    std::map<std::string, std::string> submitted_name;  // lead field -> submitted field
    for (const auto& [name, value] : submitted) {
        if (!common::CheckText(v, name, "fields", {.max_chars = 64, .required = true})) continue;
        // Line breaks are fine in a value (a message box mapped to notes); the lead field's own rule decides below.
        if (!common::CheckText(v, value, "fields." + name, {.max_chars = kMaxSubmittedValue, .multiline = true})) {
            continue;
        }
        auto it = mapping.find(name);
        if (it == mapping.end()) continue;
        const std::string& target = it->second;
        submitted_name[target] = name;
        if (target.rfind("attributes.", 0) == 0) {
            f.attributes[target.substr(11)] = value;
            continue;
        }
        std::string* slot = target == "given_name"     ? &f.given_name
                            : target == "family_name"  ? &f.family_name
                            : target == "email"        ? &f.email
                            : target == "phone"        ? &f.phone
                            : target == "company_name" ? &f.company_name
                            : target == "job_title"    ? &f.job_title
                            : target == "country"      ? &f.country
                            : target == "region"       ? &f.region
                                                       : &f.notes;
        *slot = value;
    }
    f.source = defaults.source;
    f.campaign_id = defaults.campaign_id;
    f.priority = defaults.priority;
    // Violations of the lead's fields are reported under the submitted field's name.
    const common::Violations lead_problems = NormalizeLead(f, "");
    for (const auto& violation : lead_problems.list()) {
        const auto it = submitted_name.find(violation.field);  // a lead field or "attributes.<key>"
        v.Add("fields." + (it != submitted_name.end() ? it->second : violation.field), violation.description);
    }
    out.violations = std::move(v);
    return out;
}

}  // namespace crm::leads::domain
