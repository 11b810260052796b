#pragma once
// The gateway policy, loaded once at start from a JSON file (CRM_GATEWAY_POLICY_FILE): which roles may call which
// methods, and which tenants get which rate limits. Pure code: parsing, validation and lookups, no I/O beyond
// reading the file in Load.
//
//   {
//     "rules": [
//       {"description": "administrators: everything", "roles": ["admin"], "methods": ["*"]},
//       {"roles": ["analyst", "read_only"], "methods": ["crm.contacts.v1.ContactsService/GetContact"]}
//     ],
//     "rate_limits": {
//       "plans": {"pro": "200:400", "tight": "0.2:5"},
//       "tenants": {"acme": "pro", "rl-*": "tight"}
//     },
//     "public_tokens": [
//       {"purpose": "tracked-link", "methods": ["crm.marketing.v1.MarketingService/OpenTrackedLink"],
//        "rate_limit": "20:100", "token_field": "token", "redirect_field": "redirect_url"}
//     ]
//   }
//
// A call is allowed when one of the caller's roles is granted by a rule whose method pattern matches it; a method no
// rule names is denied to everyone (default deny). Method patterns:
//   "*"                                          every method of every service
//   "crm.*", "crm.contacts.v1.*"                 every service whose full name starts with the given package prefix
//   "crm.contacts.v1.ContactsService/*"          every method of one service
//   "crm.contacts.v1.ContactsService/GetContact" one method
// Public tokens: methods that a link in an email or a survey calls without any credential. The link carries a token a
// service signed for the purpose (common/public_token.hpp); the gateway verifies it with the internal key and admits
// the call for the token's tenant with the single role "public". Each purpose has its own bucket per tenant, apart
// from the tenant's API budget, so a flood of link clicks never starves the tenant's users. Exact methods only, each
// in one purpose at most.
// Rate limits are "rate_per_second:burst" plans; tenants map to a plan by exact id or by id prefix ("rl-*"; the
// longest prefix wins, an exact id beats any prefix). Tenants the file does not name get the default limit.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crm::gateway {

// web_form: per-tenant public web-form API keys (lead capture), granted only the web-form submission methods.
// dispatcher: plans and assigns field-service work; support_manager: runs support and field service (new roles are
// appended, so that the role-matrix tables written before them keep their columns).
inline constexpr std::array<std::string_view, 13> kKnownRoles = {
    "admin",     "sales_manager", "sales_rep",  "marketer",        "support_agent", "technician",     "analyst",
    "read_only", "web_form",      "dispatcher", "support_manager", "auditor",       "privacy_officer"};

// A set of known roles as bits (bit i = kKnownRoles[i]).
using RoleSet = std::uint32_t;

// The known roles among `roles`; unknown role names grant nothing and are ignored.
RoleSet RolesOf(const std::vector<std::string>& roles);

class MethodPattern {
  public:
    enum class Kind { kAll, kPackage, kService, kMethod };

    // Nothing when `text` is not one of the four forms above (at most 256 bytes, proto identifiers).
    static std::optional<MethodPattern> Parse(std::string_view text);

    bool Matches(std::string_view service, std::string_view method) const;

    Kind kind() const { return kind_; }
    const std::string& text() const { return text_; }
    const std::string& prefix() const { return prefix_; }    // kPackage: "crm.contacts.v1." (with the dot)
    const std::string& service() const { return service_; }  // kService, kMethod
    const std::string& method() const { return method_; }    // kMethod

  private:
    Kind kind_ = Kind::kAll;
    std::string text_;
    std::string prefix_;  // kPackage: "crm.contacts.v1." (with the dot)
    std::string service_;
    std::string method_;
};

struct RateLimit {
    double rate_per_second = 0;  // refill rate, > 0 (fractions allowed: 0.2 = one call every 5 s)
    double burst = 0;            // bucket capacity: a whole number of calls, >= 1

    // "50:100", "0.2:5". Nothing when malformed or out of range (rate 0 < r <= 1e6, burst 1..1e6).
    static std::optional<RateLimit> Parse(std::string_view text);
    bool operator==(const RateLimit&) const = default;
};

// A purpose of public tokens (see above).
struct PublicTokenRule {
    std::string purpose;                // as signed by the service: "tracked-link", "unsubscribe", "csat"
    RateLimit limit{20, 100};           // per tenant and purpose
    std::string token_field = "token";  // the request field, and HTTP path variable, that carries the token
    std::string redirect_field;         // HTTP GET: answer 302 to this response field's http(s) URL (else JSON)
};

// What Parse checks exact method names against, so that a typo in the file is an error instead of a silent deny.
// Services the catalog does not know (their descriptors are not linked into the gateway) are not checked.
class MethodCatalog {
  public:
    virtual ~MethodCatalog() = default;
    virtual bool HasService(std::string_view service) const = 0;
    virtual bool HasMethod(std::string_view service, std::string_view method) const = 0;
};

// Every problem found in a policy file, one line each.
class PolicyError : public std::runtime_error {
  public:
    explicit PolicyError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const { return problems_; }

  private:
    std::vector<std::string> problems_;
};

class Policy {
  public:
    Policy() = default;  // no rules (denies everything), no tenant limits

    // Validates everything before returning: unknown keys, unknown roles, malformed method patterns, methods the
    // catalog does not know, empty lists, malformed plans, tenants mapped to unknown plans. Throws PolicyError.
    static Policy Parse(std::string_view json_text, const MethodCatalog* catalog = nullptr);
    // Reads the file and parses it; an unreadable file is a PolicyError too.
    static Policy Load(const std::string& path, const MethodCatalog* catalog = nullptr);

    // The roles granted a method by any rule.
    RoleSet AllowedRoles(std::string_view service, std::string_view method) const;
    bool Allows(std::string_view service, std::string_view method, const std::vector<std::string>& roles) const {
        return (AllowedRoles(service, method) & RolesOf(roles)) != 0;
    }

    // The tenant's plan, or nothing when the file does not name it (the caller applies the default).
    std::optional<RateLimit> TenantLimit(std::string_view tenant) const;

    // The public-token purpose of a method; null when the method takes no public token.
    const PublicTokenRule* PublicTokenFor(std::string_view service, std::string_view method) const;

  private:
    // Rules indexed by the shape of their pattern; each value is the union of the roles granted.
    std::map<std::string, RoleSet, std::less<>> methods_;                 // "service/Method"
    std::map<std::string, RoleSet, std::less<>> services_;                // "service"
    std::vector<std::pair<std::string, RoleSet>> service_prefixes_;       // "crm." ("" for "*")
    std::map<std::string, RateLimit, std::less<>> tenants_;               // exact tenant ids
    std::vector<std::pair<std::string, RateLimit>> tenant_prefixes_;      // longest first
    std::map<std::string, PublicTokenRule, std::less<>> public_methods_;  // "service/Method"
};

}  // namespace crm::gateway
