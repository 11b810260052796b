// The policy's parts: method patterns, rate-limit plans, role sets, lookups, and validation that reports every
// problem of a file at once.
#include "policy/policy.hpp"

#include <catch2/catch.hpp>

using crm::gateway::MethodCatalog;
using crm::gateway::MethodPattern;
using crm::gateway::Policy;
using crm::gateway::PolicyError;
using crm::gateway::RateLimit;
using crm::gateway::RolesOf;
using Kind = MethodPattern::Kind;

namespace {

constexpr char kContacts[] = "crm.contacts.v1.ContactsService";

// Knows one service with two methods.
class FakeCatalog final : public MethodCatalog {
  public:
    bool HasService(std::string_view service) const override { return service == kContacts; }
    bool HasMethod(std::string_view service, std::string_view method) const override {
        return service == kContacts && (method == "GetContact" || method == "CreateContact");
    }
};

std::vector<std::string> Problems(const std::string& json, const MethodCatalog* catalog = nullptr) {
    try {
        Policy::Parse(json, catalog);
    } catch (const PolicyError& e) {
        return e.problems();
    }
    FAIL("expected PolicyError for " << json);
    return {};
}

bool AnyContains(const std::vector<std::string>& problems, const std::string& text) {
    for (const auto& p : problems) {
        if (p.find(text) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("method patterns: the four forms and what they match") {
    auto all = MethodPattern::Parse("*");
    REQUIRE(all);
    CHECK(all->kind() == Kind::kAll);
    CHECK(all->Matches(kContacts, "GetContact"));
    CHECK(all->Matches("other.v1.Svc", "X"));

    auto package = MethodPattern::Parse("crm.contacts.v1.*");
    REQUIRE(package);
    CHECK(package->kind() == Kind::kPackage);
    CHECK(package->Matches(kContacts, "GetContact"));
    CHECK(package->Matches("crm.contacts.v1.Other", "X"));
    CHECK_FALSE(package->Matches("crm.contacts.v10.ContactsService", "GetContact"));  // whole components only
    CHECK_FALSE(package->Matches("crm.leads.v1.LeadsService", "GetLead"));
    auto top = MethodPattern::Parse("crm.*");
    REQUIRE(top);
    CHECK(top->Matches("crm.leads.v1.LeadsService", "GetLead"));
    CHECK_FALSE(top->Matches("crmx.v1.Svc", "X"));

    auto service = MethodPattern::Parse("crm.contacts.v1.ContactsService/*");
    REQUIRE(service);
    CHECK(service->kind() == Kind::kService);
    CHECK(service->Matches(kContacts, "EraseContact"));
    CHECK_FALSE(service->Matches("crm.contacts.v1.ContactsServiceX", "EraseContact"));

    auto method = MethodPattern::Parse("crm.contacts.v1.ContactsService/GetContact");
    REQUIRE(method);
    CHECK(method->kind() == Kind::kMethod);
    CHECK(method->service() == kContacts);
    CHECK(method->method() == "GetContact");
    CHECK(method->Matches(kContacts, "GetContact"));
    CHECK_FALSE(method->Matches(kContacts, "GetContacts"));
    CHECK_FALSE(method->Matches(kContacts, "GetCompany"));
}

TEST_CASE("method patterns: malformed ones are refused") {
    for (const char* bad : {"", "**", "crm", "crm.", ".*", "crm.*.v1", "crm.contacts.v1.ContactsService/Get*",
                            "/crm.contacts.v1.ContactsService/GetContact", "crm.contacts.v1.ContactsService/",
                            "ContactsService/GetContact", "crm.contacts.v1.ContactsService/Get-Contact",
                            "crm.contacts.v1.ContactsService/GetContact/x", "crm..v1.X/Y", "crm.contacts.v1.1X/Y",
                            " crm.contacts.v1.ContactsService/GetContact", "crm.contacts.v1.ContactsService/*/"}) {
        INFO(bad);
        CHECK_FALSE(MethodPattern::Parse(bad));
    }
    CHECK_FALSE(MethodPattern::Parse("a." + std::string(300, 'b') + "/C"));
}

TEST_CASE("rate limits parse as rate_per_second:burst") {
    CHECK(RateLimit::Parse("50:100") == RateLimit{50, 100});
    CHECK(RateLimit::Parse("0.2:5") == RateLimit{0.2, 5});
    CHECK(RateLimit::Parse("1000000:1000000") == RateLimit{1e6, 1e6});
    for (const char* bad : {"", "50", "50:", ":100", "0:10", "-1:10", "10:0", "10:1.5", "10:-3", "1e7:10", "10:2e6",
                            "nan:1", "inf:1", "5 :5", "5:5x", "5:5:5"}) {
        INFO(bad);
        CHECK_FALSE(RateLimit::Parse(bad));
    }
}

TEST_CASE("roles: known ones become a set, unknown ones grant nothing") {
    CHECK(RolesOf({}) == 0);
    CHECK(RolesOf({"superuser", "ADMIN"}) == 0);
    CHECK(RolesOf({"admin"}) == 1);
    CHECK(RolesOf({"read_only", "admin", "nobody"}) == (1u | 1u << 7));
}

TEST_CASE("a policy grants the union of its matching rules and denies what it does not name") {
    const auto p = Policy::Parse(R"({
      "rules": [
        {"roles": ["admin"], "methods": ["*"]},
        {"description": "readers", "roles": ["read_only", "analyst"],
         "methods": ["crm.contacts.v1.ContactsService/GetContact"]},
        {"roles": ["sales_rep"], "methods": ["crm.contacts.v1.ContactsService/*"]},
        {"roles": ["marketer"], "methods": ["crm.marketing.*"]},
        {"roles": ["analyst"], "methods": ["crm.contacts.v1.ContactsService/GetContact",
                                           "crm.contacts.v1.ContactsService/ListContacts"]}
      ]})");
    CHECK(p.Allows(kContacts, "GetContact", {"read_only"}));
    CHECK_FALSE(p.Allows(kContacts, "ListContacts", {"read_only"}));
    CHECK(p.Allows(kContacts, "ListContacts", {"analyst"}));
    CHECK(p.Allows(kContacts, "EraseContact", {"sales_rep"}));
    CHECK(p.Allows(kContacts, "EraseContact", {"read_only", "sales_rep"}));  // any role suffices
    CHECK_FALSE(p.Allows(kContacts, "EraseContact", {"marketer"}));
    CHECK(p.Allows("crm.marketing.v1.CampaignsService", "CreateCampaign", {"marketer"}));
    CHECK(p.Allows("anything.v1.Else", "Anything", {"admin"}));
    CHECK_FALSE(p.Allows(kContacts, "GetContact", {}));
    CHECK_FALSE(p.Allows(kContacts, "GetContact", {"superuser"}));
    CHECK_FALSE(p.Allows("crm.leads.v1.LeadsService", "GetLead", {"sales_rep", "marketer", "read_only"}));

    const Policy none;
    CHECK_FALSE(none.Allows(kContacts, "GetContact", {"admin"}));
}

TEST_CASE("tenant rate limits: exact ids beat prefixes, the longest prefix wins, others get nothing") {
    const auto p = Policy::Parse(R"({
      "rules": [{"roles": ["admin"], "methods": ["*"]}],
      "rate_limits": {
        "plans": {"pro": "200:400", "tight": "0.2:5", "tighter": "0.1:1"},
        "tenants": {"acme": "pro", "rl-*": "tight", "rl-x*": "tighter", "rl-xyz": "pro"}
      }})");
    CHECK(p.TenantLimit("acme") == RateLimit{200, 400});
    CHECK_FALSE(p.TenantLimit("acme2"));
    CHECK(p.TenantLimit("rl-abc") == RateLimit{0.2, 5});
    CHECK(p.TenantLimit("rl-") == RateLimit{0.2, 5});
    CHECK(p.TenantLimit("rl-xa") == RateLimit{0.1, 1});
    CHECK(p.TenantLimit("rl-xyz") == RateLimit{200, 400});
    CHECK_FALSE(p.TenantLimit("globex"));
    CHECK_FALSE(Policy().TenantLimit("acme"));
}

TEST_CASE("policy validation reports every problem at once") {
    FakeCatalog catalog;
    const auto problems = Problems(R"({
      "rulez": [],
      "rules": [
        {"roles": ["admin", "salesrep", 7], "methods": ["*", "crm.contacts.v1.ContactsService/Get*", 3]},
        {"roles": [], "methods": ["crm.*"]},
        {"roles": ["analyst"]},
        {"roles": ["analyst"], "methods": ["crm.contacts.v1.ContactsService/GetContacts"], "comment": "x"},
        "not an object"
      ],
      "rate_limits": {
        "plans": {"pro": "200:400", "broken": "fast", "zero": "0:10"},
        "tenants": {"acme": "gold", "Bad Tenant": "pro", "*": "pro", "rl-*": 5}
      }})",
                                   &catalog);
    INFO([&] {
        std::string all;
        for (const auto& p : problems) all += p + "\n";
        return all;
    }());
    CHECK(AnyContains(problems, "policy: unknown key \"rulez\""));
    CHECK(AnyContains(problems, "rules[0].roles[1]: unknown role \"salesrep\" (known: admin, sales_manager"));
    CHECK(AnyContains(problems, "rules[0].roles[2]: must be a string"));
    CHECK(
        AnyContains(problems, "rules[0].methods[1]: \"crm.contacts.v1.ContactsService/Get*\" is not a method pattern"));
    CHECK(AnyContains(problems, "rules[0].methods[2]: 3 is not a method pattern"));
    CHECK(AnyContains(problems, "rules[1].roles: must be a non-empty array"));
    CHECK(AnyContains(problems, "rules[2]: \"methods\" is required"));
    CHECK(AnyContains(problems, "rules[3]: unknown key \"comment\""));
    CHECK(AnyContains(problems, "rules[3].methods[0]: crm.contacts.v1.ContactsService has no method \"GetContacts\""));
    CHECK(AnyContains(problems, "rules[4]: must be an object"));
    CHECK(AnyContains(problems, "rate_limits.plans.broken: \"fast\" is not \"rate_per_second:burst\""));
    CHECK(AnyContains(problems, "rate_limits.plans.zero"));
    CHECK(AnyContains(problems, "rate_limits.tenants.acme: unknown plan \"gold\""));
    CHECK(AnyContains(problems, "rate_limits.tenants.Bad Tenant: not a tenant id"));
    CHECK(AnyContains(problems,
                      "rate_limits.tenants.*: not a tenant id or a tenant id prefix followed by \"*\" (set "
                      "CRM_RATE_LIMIT_DEFAULT for every tenant)"));
    CHECK(AnyContains(problems, "rate_limits.tenants.rl-*: unknown plan 5"));
    CHECK(problems.size() == 16);
}

TEST_CASE("policy validation: the catalog checks exact methods of the services it knows, nothing else") {
    FakeCatalog catalog;
    CHECK_NOTHROW(Policy::Parse(R"({"rules": [{"roles": ["admin"], "methods": [
        "crm.contacts.v1.ContactsService/GetContact", "crm.contacts.v1.ContactsService/*",
        "crm.leads.v1.LeadsService/AnyNameAtAll"]}]})",
                                &catalog));
    CHECK(
        Problems(R"({"rules": [{"roles": ["admin"], "methods": ["crm.contacts.v1.ContactsService/Nope"]}]})", &catalog)
            .size() == 1);
}

TEST_CASE("policy validation: documents that are not policies") {
    CHECK_THAT(Problems("{").at(0), Catch::StartsWith("not valid JSON"));
    CHECK(Problems("[]").at(0) == "the policy must be a JSON object");
    CHECK(AnyContains(Problems("{}"), "rules: a non-empty array"));
    CHECK(AnyContains(Problems(R"({"rules": []})"), "rules: a non-empty array"));
    CHECK(AnyContains(Problems(R"({"rules": [{"roles": ["admin"], "methods": ["*"]}], "rate_limits": []})"),
                      "rate_limits: must be an object"));
    CHECK(AnyContains(
        Problems(R"({"rules": [{"roles": ["admin"], "methods": ["*"]}], "rate_limits": {"plans": [], "tenants": 1}})"),
        "rate_limits.plans: must be an object"));
    CHECK_THROWS_WITH(Policy::Load("/nonexistent/policy.json"),
                      Catch::Contains("cannot read /nonexistent/policy.json"));
}

TEST_CASE("the policy error message lists every problem on its own line") {
    PolicyError e({"first", "second"});
    CHECK(std::string(e.what()) == "invalid gateway policy:\n  - first\n  - second");
}

TEST_CASE("public tokens: one purpose per exact method, its limit, token and redirect fields") {
    const Policy p = Policy::Parse(R"({"rules": [{"roles": ["admin"], "methods": ["*"]}],
        "public_tokens": [
          {"purpose": "tracked-link", "methods": ["crm.contacts.v1.ContactsService/GetContact"], "rate_limit": "5:10",
           "redirect_field": "redirect_url"},
          {"purpose": "csat", "methods": ["crm.contacts.v1.ContactsService/CreateContact"], "token_field": "survey"}]})",
                                   nullptr);
    const auto* link = p.PublicTokenFor(kContacts, "GetContact");
    REQUIRE(link != nullptr);
    CHECK(link->purpose == "tracked-link");
    CHECK(link->limit == RateLimit{5, 10});
    CHECK(link->token_field == "token");
    CHECK(link->redirect_field == "redirect_url");
    const auto* csat = p.PublicTokenFor(kContacts, "CreateContact");
    REQUIRE(csat != nullptr);
    CHECK(csat->token_field == "survey");
    CHECK(csat->limit == RateLimit{20, 100});
    CHECK(p.PublicTokenFor(kContacts, "ListContacts") == nullptr);
    CHECK(Policy::Parse(R"({"rules": [{"roles": ["admin"], "methods": ["*"]}]})")
              .PublicTokenFor(kContacts, "GetContact") == nullptr);

    const FakeCatalog catalog;
    const auto problems = Problems(R"({"rules": [{"roles": ["admin"], "methods": ["*"]}],
        "public_tokens": [
          {"purpose": "Bad Purpose", "methods": ["crm.contacts.v1.*"], "rate_limit": "x", "extra": 1},
          {"methods": ["crm.contacts.v1.ContactsService/Nope", "crm.contacts.v1.ContactsService/GetContact"]},
          {"purpose": "again", "methods": ["crm.contacts.v1.ContactsService/GetContact"], "token_field": "a b"}]})",
                                   &catalog);
    CHECK(AnyContains(problems, "public_tokens[0].purpose"));
    CHECK(AnyContains(problems, "public_tokens[0].methods[0]"));
    CHECK(AnyContains(problems, "public_tokens[0].rate_limit"));
    CHECK(AnyContains(problems, "public_tokens[0]: unknown key \"extra\""));
    CHECK(AnyContains(problems, "public_tokens[1].purpose: required"));
    CHECK(AnyContains(problems, "has no method \"Nope\""));
    CHECK(AnyContains(problems, "public_tokens[2].token_field"));
    CHECK(AnyContains(problems, "public_tokens[2].methods[0]: \"crm.contacts.v1.ContactsService/GetContact\" already"));
    CHECK(AnyContains(Problems(R"({"rules": [{"roles": ["admin"], "methods": ["*"]}], "public_tokens": {}})"),
                      "public_tokens: must be an array"));
}
