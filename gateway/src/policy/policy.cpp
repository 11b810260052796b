#include "policy/policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crm/common/identity.hpp"
#include "proxy/routes.hpp"

namespace crm::gateway {
namespace {

using nlohmann::json;

constexpr size_t kMaxPatternBytes = 256;
constexpr double kMaxRate = 1e6;
constexpr double kMaxBurst = 1e6;
constexpr char kPatternForms[] =
    "expected \"*\", \"<package>.*\", \"<package>.<Service>/*\" or \"<package>.<Service>/<Method>\"";

// A full service name: a dotted name with a package ("crm.contacts.v1.ContactsService").
bool IsServiceName(std::string_view s) { return IsValidPackage(s) && s.find('.') != std::string_view::npos; }

std::optional<double> ParseNumber(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

std::string Quote(std::string_view s) { return json(std::string(s)).dump(); }

std::string KnownRoleList() {
    std::string out;
    for (auto r : kKnownRoles) out += (out.empty() ? "" : ", ") + std::string(r);
    return out;
}

std::optional<int> RoleIndex(std::string_view role) {
    for (size_t i = 0; i < kKnownRoles.size(); ++i) {
        if (kKnownRoles[i] == role) return static_cast<int>(i);
    }
    return std::nullopt;
}

// Reports keys of `object` outside `allowed`.
void CheckKeys(const json& object, std::initializer_list<std::string_view> allowed, const std::string& where,
               std::vector<std::string>& problems) {
    for (const auto& [key, value] : object.items()) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            problems.push_back(where + ": unknown key " + Quote(key) + " (allowed: " + list + ")");
        }
    }
}

// A non-empty array of strings at object[key]; reports what is wrong with it.
const json* StringArray(const json& object, const char* key, const std::string& where,
                        std::vector<std::string>& problems) {
    auto it = object.find(key);
    if (it == object.end()) {
        problems.push_back(where + ": \"" + key + "\" is required");
        return nullptr;
    }
    if (!it->is_array() || it->empty()) {
        problems.push_back(where + "." + key + ": must be a non-empty array of strings");
        return nullptr;
    }
    return &*it;
}

}  // namespace

RoleSet RolesOf(const std::vector<std::string>& roles) {
    RoleSet set = 0;
    for (const auto& r : roles) {
        if (auto i = RoleIndex(r)) set |= RoleSet{1} << *i;
    }
    return set;
}

std::optional<MethodPattern> MethodPattern::Parse(std::string_view text) {
    if (text.empty() || text.size() > kMaxPatternBytes) return std::nullopt;
    MethodPattern p;
    p.text_ = std::string(text);
    if (text == "*") {
        p.kind_ = Kind::kAll;
        return p;
    }
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        // "<package prefix>.*"
        if (text.size() < 3 || !text.ends_with(".*") || !IsValidPackage(text.substr(0, text.size() - 2))) {
            return std::nullopt;
        }
        p.kind_ = Kind::kPackage;
        p.prefix_ = std::string(text.substr(0, text.size() - 1));
        return p;
    }
    const std::string_view service = text.substr(0, slash);
    const std::string_view method = text.substr(slash + 1);
    if (!IsServiceName(service)) return std::nullopt;
    p.service_ = std::string(service);
    if (method == "*") {
        p.kind_ = Kind::kService;
        return p;
    }
    if (!IsProtoIdentifier(method)) return std::nullopt;
    p.kind_ = Kind::kMethod;
    p.method_ = std::string(method);
    return p;
}

bool MethodPattern::Matches(std::string_view service, std::string_view method) const {
    switch (kind_) {
        case Kind::kAll:
            return true;
        case Kind::kPackage:
            return service.starts_with(prefix_);
        case Kind::kService:
            return service == service_;
        case Kind::kMethod:
            return service == service_ && method == method_;
    }
    return false;
}

std::optional<RateLimit> RateLimit::Parse(std::string_view text) {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto rate = ParseNumber(text.substr(0, colon));
    const auto burst = ParseNumber(text.substr(colon + 1));
    if (!rate || !burst || *rate <= 0 || *rate > kMaxRate || *burst < 1 || *burst > kMaxBurst ||
        *burst != std::floor(*burst)) {
        return std::nullopt;
    }
    return RateLimit{*rate, *burst};
}

PolicyError::PolicyError(std::vector<std::string> problems)
    : std::runtime_error([&] {
          std::string m = "invalid gateway policy:";
          for (const auto& p : problems) m += "\n  - " + p;
          return m;
      }()),
      problems_(std::move(problems)) {}

namespace {

bool IsPurpose(const std::string& s) {
    return !s.empty() && s.size() <= 40 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool IsFieldName(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    });
}

void ParsePublicTokens(const json& list, const MethodCatalog* catalog,
                       std::map<std::string, PublicTokenRule, std::less<>>& out, std::vector<std::string>& problems) {
    if (!list.is_array()) {
        problems.push_back("public_tokens: must be an array of {\"purpose\", \"methods\", ...}");
        return;
    }
    for (size_t i = 0; i < list.size(); ++i) {
        const json& entry = list[i];
        const std::string where = "public_tokens[" + std::to_string(i) + "]";
        if (!entry.is_object()) {
            problems.push_back(where + ": must be an object");
            continue;
        }
        CheckKeys(entry, {"description", "purpose", "methods", "rate_limit", "token_field", "redirect_field"}, where,
                  problems);
        PublicTokenRule rule;
        auto text = [&](const char* key, std::string& target, bool (*valid)(const std::string&), const char* shape) {
            const auto it = entry.find(key);
            if (it == entry.end()) return;
            if (!it->is_string() || !valid(it->get<std::string>())) {
                problems.push_back(where + "." + key + ": " + it->dump() + " is not " + shape);
                return;
            }
            target = it->get<std::string>();
        };
        rule.purpose.clear();
        text("purpose", rule.purpose, IsPurpose, "a purpose (a-z, 0-9, '-', 1..40 characters)");
        if (entry.find("purpose") == entry.end()) problems.push_back(where + ".purpose: required");
        text("token_field", rule.token_field, IsFieldName, "a request field name");
        text("redirect_field", rule.redirect_field, IsFieldName, "a response field name");
        if (auto l = entry.find("rate_limit"); l != entry.end()) {
            std::optional<RateLimit> limit;
            if (l->is_string()) limit = RateLimit::Parse(l->get<std::string>());
            if (limit) {
                rule.limit = *limit;
            } else {
                problems.push_back(where + ".rate_limit: " + l->dump() + " is not \"rate_per_second:burst\"");
            }
        }
        const json* methods = StringArray(entry, "methods", where, problems);
        if (methods == nullptr) continue;
        for (size_t j = 0; j < methods->size(); ++j) {
            const json& m = (*methods)[j];
            const std::string at = where + ".methods[" + std::to_string(j) + "]";
            std::optional<MethodPattern> pattern;
            if (m.is_string()) pattern = MethodPattern::Parse(m.get<std::string>());
            if (!pattern || pattern->kind() != MethodPattern::Kind::kMethod) {
                problems.push_back(at + ": " + m.dump() + " is not one exact method (\"pkg.Service/Method\")");
                continue;
            }
            if (catalog != nullptr && catalog->HasService(pattern->service()) &&
                !catalog->HasMethod(pattern->service(), pattern->method())) {
                problems.push_back(at + ": " + pattern->service() + " has no method " + Quote(pattern->method()));
                continue;
            }
            if (!out.emplace(pattern->service() + "/" + pattern->method(), rule).second) {
                problems.push_back(at + ": " + m.dump() + " already takes a public token of another entry");
            }
        }
    }
}

}  // namespace

Policy Policy::Parse(std::string_view json_text, const MethodCatalog* catalog) {
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw PolicyError({std::string("not valid JSON: ") + e.what()});
    }
    if (!doc.is_object()) throw PolicyError({"the policy must be a JSON object"});

    std::vector<std::string> problems;
    Policy policy;
    CheckKeys(doc, {"description", "rules", "rate_limits", "public_tokens"}, "policy", problems);

    auto rules = doc.find("rules");
    if (rules == doc.end() || !rules->is_array() || rules->empty()) {
        problems.push_back("rules: a non-empty array of {\"roles\": [...], \"methods\": [...]} is required");
    } else {
        for (size_t i = 0; i < rules->size(); ++i) {
            const json& rule = (*rules)[i];
            const std::string where = "rules[" + std::to_string(i) + "]";
            if (!rule.is_object()) {
                problems.push_back(where + ": must be an object");
                continue;
            }
            CheckKeys(rule, {"description", "roles", "methods"}, where, problems);
            if (auto d = rule.find("description"); d != rule.end() && !d->is_string()) {
                problems.push_back(where + ".description: must be a string");
            }
            RoleSet roles = 0;
            if (const json* list = StringArray(rule, "roles", where, problems)) {
                for (size_t j = 0; j < list->size(); ++j) {
                    const json& r = (*list)[j];
                    const std::string at = where + ".roles[" + std::to_string(j) + "]";
                    if (!r.is_string()) {
                        problems.push_back(at + ": must be a string");
                    } else if (auto index = RoleIndex(r.get<std::string>())) {
                        roles |= RoleSet{1} << *index;
                    } else {
                        problems.push_back(at + ": unknown role " + r.dump() + " (known: " + KnownRoleList() + ")");
                    }
                }
            }
            const json* methods = StringArray(rule, "methods", where, problems);
            if (methods == nullptr) continue;
            for (size_t j = 0; j < methods->size(); ++j) {
                const json& m = (*methods)[j];
                const std::string at = where + ".methods[" + std::to_string(j) + "]";
                std::optional<MethodPattern> pattern;
                if (m.is_string()) pattern = MethodPattern::Parse(m.get<std::string>());
                if (!pattern) {
                    problems.push_back(at + ": " + m.dump() + " is not a method pattern (" + kPatternForms + ")");
                    continue;
                }
                if (catalog != nullptr && pattern->kind() == MethodPattern::Kind::kMethod &&
                    catalog->HasService(pattern->service()) &&
                    !catalog->HasMethod(pattern->service(), pattern->method())) {
                    problems.push_back(at + ": " + pattern->service() + " has no method " + Quote(pattern->method()));
                    continue;
                }
                switch (pattern->kind()) {
                    case MethodPattern::Kind::kAll:
                        policy.service_prefixes_.emplace_back("", roles);
                        break;
                    case MethodPattern::Kind::kPackage:
                        policy.service_prefixes_.emplace_back(pattern->prefix(), roles);
                        break;
                    case MethodPattern::Kind::kService:
                        policy.services_[pattern->service()] |= roles;
                        break;
                    case MethodPattern::Kind::kMethod:
                        policy.methods_[pattern->service() + "/" + pattern->method()] |= roles;
                        break;
                }
            }
        }
    }

    if (auto limits = doc.find("rate_limits"); limits != doc.end()) {
        std::map<std::string, RateLimit, std::less<>> plans;
        if (!limits->is_object()) {
            problems.push_back("rate_limits: must be an object with \"plans\" and \"tenants\"");
        } else {
            CheckKeys(*limits, {"description", "plans", "tenants"}, "rate_limits", problems);
            if (auto p = limits->find("plans"); p != limits->end() && !p->is_object()) {
                problems.push_back("rate_limits.plans: must be an object of name: \"rate:burst\"");
            } else if (p != limits->end()) {
                for (const auto& [name, spec] : p->items()) {
                    std::optional<RateLimit> limit;
                    if (spec.is_string()) limit = RateLimit::Parse(spec.get<std::string>());
                    if (limit) {
                        plans.emplace(name, *limit);
                    } else {
                        problems.push_back("rate_limits.plans." + name + ": " + spec.dump() +
                                           " is not \"rate_per_second:burst\" (rate 0 < r <= 1000000, burst a whole "
                                           "number 1..1000000, e.g. \"50:100\" or \"0.2:5\")");
                    }
                }
            }
            if (auto t = limits->find("tenants"); t != limits->end() && !t->is_object()) {
                problems.push_back("rate_limits.tenants: must be an object of tenant: plan");
            } else if (t != limits->end()) {
                for (const auto& [tenant, plan] : t->items()) {
                    const std::string at = "rate_limits.tenants." + tenant;
                    const bool prefix = tenant.ends_with('*');
                    const std::string id = prefix ? tenant.substr(0, tenant.size() - 1) : tenant;
                    if (!common::IsValidTenantId(id)) {
                        problems.push_back(
                            at + ": not a tenant id or a tenant id prefix followed by \"*\"" +
                            std::string(id.empty() ? " (set CRM_RATE_LIMIT_DEFAULT for every tenant)" : ""));
                        continue;
                    }
                    auto found = plan.is_string() ? plans.find(plan.get<std::string>()) : plans.end();
                    if (found == plans.end()) {
                        problems.push_back(at + ": unknown plan " + plan.dump());
                        continue;
                    }
                    if (prefix) {
                        policy.tenant_prefixes_.emplace_back(id, found->second);
                    } else {
                        policy.tenants_.emplace(id, found->second);
                    }
                }
            }
        }
    }
    if (auto publics = doc.find("public_tokens"); publics != doc.end()) {
        ParsePublicTokens(*publics, catalog, policy.public_methods_, problems);
    }
    if (!problems.empty()) throw PolicyError(std::move(problems));
    std::stable_sort(policy.tenant_prefixes_.begin(), policy.tenant_prefixes_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    return policy;
}

Policy Policy::Load(const std::string& path, const MethodCatalog* catalog) {
    std::ifstream in(path);
    if (!in) throw PolicyError({"cannot read " + path});
    std::ostringstream text;
    text << in.rdbuf();
    return Parse(text.str(), catalog);
}

RoleSet Policy::AllowedRoles(std::string_view service, std::string_view method) const {
    RoleSet roles = 0;
    std::string key;
    key.reserve(service.size() + 1 + method.size());
    key.append(service).append("/").append(method);
    if (auto it = methods_.find(key); it != methods_.end()) roles |= it->second;
    if (auto it = services_.find(service); it != services_.end()) roles |= it->second;
    for (const auto& [prefix, granted] : service_prefixes_) {
        if (service.starts_with(prefix)) roles |= granted;
    }
    return roles;
}

const PublicTokenRule* Policy::PublicTokenFor(std::string_view service, std::string_view method) const {
    if (public_methods_.empty()) return nullptr;
    std::string key;
    key.reserve(service.size() + 1 + method.size());
    key.append(service).append("/").append(method);
    const auto it = public_methods_.find(key);
    return it == public_methods_.end() ? nullptr : &it->second;
}

std::optional<RateLimit> Policy::TenantLimit(std::string_view tenant) const {
    if (auto it = tenants_.find(tenant); it != tenants_.end()) return it->second;
    for (const auto& [prefix, limit] : tenant_prefixes_) {
        if (tenant.starts_with(prefix)) return limit;
    }
    return std::nullopt;
}

}  // namespace crm::gateway
