// The role matrix: the policies that ship (deploy/local/gateway-policy.json and the ConfigMap in
// k8s/base/gateway-policy.json) against tables written out here, for every role and every RPC of the contacts, leads
// and sales services (enumerated from their descriptors, so a new RPC fails this test until its table says who may call
// it).
#include "policy_matrix.hpp"

#include <crm/contacts/v1/contacts.pb.h>
#include <crm/gateway/v1/api_keys.pb.h>
#include <crm/leads/v1/leads.pb.h>
#include <crm/privacy/v1/retention.pb.h>
#include <crm/privacy/v1/subject.pb.h>
#include <crm/sales/v1/sales.pb.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <map>

#include "policy/policy.hpp"
#include "register.hpp"

using crm::gateway::kKnownRoles;
using crm::gateway::LinkedDescriptors;
using crm::gateway::Policy;
using crm::gateway::testing::CheckServiceMatrix;
using crm::gateway::testing::K8sPolicyJson;
using crm::gateway::testing::MethodsOf;

namespace {

constexpr char kService[] = "crm.contacts.v1.ContactsService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                                admin mgr  rep  mkt  sup  tech anl  ro   wf
const std::map<std::string, std::array<int, 9>> kContactsMatrix = {
    {"GetContact",                  /* read */   {1,    1,   1,   1,   1,   1,   1,   1,   0}},
    {"ListContacts",                /* read */   {1,    1,   1,   1,   1,   1,   1,   1,   0}},
    {"SearchContacts",              /* read */   {1,    1,   1,   1,   1,   1,   1,   1,   0}},
    {"GetCompany",                  /* read */   {1,    1,   1,   1,   1,   1,   1,   1,   0}},
    {"ListCompanies",               /* read */   {1,    1,   1,   1,   1,   1,   1,   1,   0}},
    {"ListCustomFieldDefinitions",  /* read */   {1,    1,   1,   1,   1,   1,   1,   1,   0}},
    {"FindDuplicates",              /* read */   {1,    1,   1,   1,   1,   0,   1,   1,   0}},
    {"CreateContact",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"UpdateContact",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"DeleteContact",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"MergeContacts",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"UpdateContactConsent",        /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"CreateCompany",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"UpdateCompany",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"DeleteCompany",               /* write */  {1,    1,   1,   1,   1,   0,   0,   0,   0}},
    {"EraseContact",                /* admin */  {1,    0,   0,   0,   0,   0,   0,   0,   0}},
    {"ExportContactData",           /* admin */  {1,    0,   0,   0,   0,   0,   0,   0,   0}},
    {"CreateCustomFieldDefinition", /* admin */  {1,    0,   0,   0,   0,   0,   0,   0,   0}},
    {"DeleteCustomFieldDefinition", /* admin */  {1,    0,   0,   0,   0,   0,   0,   0,   0}},
};

constexpr char kLeadsService[] = "crm.leads.v1.LeadsService";
//                                              admin mgr  rep  mkt  sup  tech anl  ro   wf
const std::map<std::string, std::array<int, 9>> kLeadsMatrix = {
    {"GetLead",                /* read */      {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"ListLeads",              /* read */      {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetScoringRules",        /* read */      {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetAssignmentConfig",    /* read */      {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"PredictLeadConversion",  /* read */      {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetWebForm",             /* read */      {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"CreateLead",             /* capture */   {1,    1,   1,   1,   0,   0,   0,   0,   0}},
    {"ImportLeads",            /* capture */   {1,    1,   1,   1,   0,   0,   0,   0,   0}},
    {"RecordEngagement",       /* capture */   {1,    1,   1,   1,   0,   0,   0,   0,   0}},
    {"UpdateLead",             /* work */      {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"ChangeLeadStatus",       /* work */      {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"AssignLead",             /* work */      {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"ConvertLead",            /* work */      {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"UpdateScoringRules",     /* config */    {1,    1,   0,   1,   0,   0,   0,   0,   0}},
    {"UpsertWebForm",          /* config */    {1,    1,   0,   1,   0,   0,   0,   0,   0}},
    {"UpdateAssignmentConfig", /* config */    {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"TrainScoringModel",      /* config */    {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    // The public web form: API keys with the web_form role, and nothing else for that role.
    {"IssueWebFormToken",      /* web form */  {1,    0,   0,   0,   0,   0,   0,   0,   1}},
    {"SubmitWebForm",          /* web form */  {1,    0,   0,   0,   0,   0,   0,   0,   1}},
};

constexpr char kSalesService[] = "crm.sales.v1.SalesService";
//                                           admin mgr  rep  mkt  sup  tech anl  ro   wf
const std::map<std::string, std::array<int, 9>> kSalesMatrix = {
    {"GetPipeline",           /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetDefaultPipeline",    /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"ListPipelines",         /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetOpportunity",        /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"ListOpportunities",     /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"ListStageHistory",      /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetProduct",            /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"ListProducts",          /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"ListPriceBookEntries",  /* read */    {1,    1,   1,   1,   0,   0,   1,   1,   0}},
    {"GetActivity",           /* read */    {1,    1,   1,   0,   1,   0,   1,   1,   0}},
    {"ListActivities",        /* read */    {1,    1,   1,   0,   1,   0,   1,   1,   0}},
    {"GetQuote",              /* read */    {1,    1,   1,   0,   0,   0,   1,   1,   0}},
    {"ListQuotes",            /* read */    {1,    1,   1,   0,   0,   0,   1,   1,   0}},
    {"GetSalesSettings",      /* read */    {1,    1,   1,   0,   0,   0,   1,   1,   0}},
    {"GetForecast",           /* read */    {1,    1,   1,   0,   0,   0,   1,   1,   0}},
    {"ListForecastSnapshots", /* read */    {1,    1,   1,   0,   0,   0,   1,   1,   0}},
    {"GetForecastAccuracy",   /* read */    {1,    1,   1,   0,   0,   0,   1,   1,   0}},
    {"CreateActivity",        /* write */   {1,    1,   1,   0,   1,   0,   0,   0,   0}},
    {"UpdateActivity",        /* write */   {1,    1,   1,   0,   1,   0,   0,   0,   0}},
    {"CompleteActivity",      /* write */   {1,    1,   1,   0,   1,   0,   0,   0,   0}},
    {"CreateOpportunity",     /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"UpdateOpportunity",     /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"MoveOpportunityStage",  /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"WinOpportunity",        /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"LoseOpportunity",       /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"DeleteOpportunity",     /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"CreateQuote",           /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"UpdateQuote",           /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"SubmitQuote",           /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"SendQuote",             /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"AcceptQuote",           /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"RejectQuote",           /* write */   {1,    1,   1,   0,   0,   0,   0,   0,   0}},
    {"CreatePipeline",        /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"UpdatePipeline",        /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"CreateProduct",         /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"UpdateProduct",         /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"SetPriceBookEntry",     /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"ApproveQuote",          /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"UpdateSalesSettings",   /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
    {"TakeForecastSnapshot",  /* manager */ {1,    1,   0,   0,   0,   0,   0,   0,   0}},
};
// clang-format on

// The gateway's own admin service: administrators only (of their own tenant: the tenant comes from the identity).
constexpr char kApiKeysService[] = "crm.gateway.v1.ApiKeysService";

void CheckApiKeysMatrix(const Policy& policy) {
    const auto* service =
        crm::gateway::v1::CreateApiKeyRequest::descriptor()->file()->FindServiceByName("ApiKeysService");
    REQUIRE(service != nullptr);
    REQUIRE(service->method_count() == 4);
    for (int i = 0; i < service->method_count(); ++i) {
        const std::string method = service->method(i)->name();
        INFO("method " << method);
        CHECK(policy.Allows(kApiKeysService, method, {"admin"}));
        for (size_t r = 1; r < kKnownRoles.size(); ++r) {
            INFO("role " << kKnownRoles[r]);
            CHECK_FALSE(policy.Allows(kApiKeysService, method, {std::string(kKnownRoles[r])}));
        }
    }
}

// Retention policies (every service's, forwarded by the gateway): privacy officers and administrators only.
void CheckRetentionMatrix(const Policy& policy) {
    constexpr char kRetention[] = "crm.privacy.v1.RetentionService";
    const auto methods =
        MethodsOf(crm::privacy::v1::SetRetentionPolicyRequest::descriptor()->file(), "RetentionService");
    REQUIRE(methods.size() == 4);
    for (const auto& method : methods) {
        INFO("method " << method);
        for (const auto& role : kKnownRoles) {
            INFO("role " << role);
            CHECK(policy.Allows(kRetention, method, {std::string(role)}) ==
                  (role == "admin" || role == "privacy_officer"));
        }
    }
}

// Data-subject requests (served by the gateway): privacy officers and administrators only.
void CheckDataSubjectMatrix(const Policy& policy) {
    constexpr char kDsr[] = "crm.privacy.v1.DataSubjectRequestService";
    const auto methods =
        MethodsOf(crm::privacy::v1::StartDataSubjectRequestRequest::descriptor()->file(), "DataSubjectRequestService");
    REQUIRE(methods.size() == 3);
    for (const auto& method : methods) {
        INFO("method " << method);
        for (const auto& role : kKnownRoles) {
            INFO("role " << role);
            CHECK(policy.Allows(kDsr, method, {std::string(role)}) == (role == "admin" || role == "privacy_officer"));
        }
    }
    // The services' own SubjectDataService is not routed; no rule names it (administrators' "*" only).
    for (size_t r = 1; r < kKnownRoles.size(); ++r) {
        CHECK_FALSE(policy.Allows("crm.privacy.v1.SubjectDataService", "EraseSubject", {std::string(kKnownRoles[r])}));
    }
}

void CheckMatrix(const Policy& policy) {
    CheckApiKeysMatrix(policy);
    CheckRetentionMatrix(policy);
    CheckDataSubjectMatrix(policy);
    CheckServiceMatrix(policy, kService,
                       MethodsOf(crm::contacts::v1::GetContactRequest::descriptor()->file(), "ContactsService"),
                       kContactsMatrix);
    CheckServiceMatrix(policy, kLeadsService,
                       MethodsOf(crm::leads::v1::GetLeadRequest::descriptor()->file(), "LeadsService"), kLeadsMatrix);
    CheckServiceMatrix(policy, kSalesService,
                       MethodsOf(crm::sales::v1::GetOpportunityRequest::descriptor()->file(), "SalesService"),
                       kSalesMatrix);
    // Default deny: a service the policy does not name is for administrators only (their "*" rule).
    // (marketing has its own rules now, policy_matrix_marketing_test.cpp: a service no rule names stands in for it)
    CHECK(policy.Allows("crm.unnamed.v1.UnnamedService", "GetThing", {"admin"}));
    for (size_t r = 1; r < kKnownRoles.size(); ++r) {
        CHECK_FALSE(policy.Allows("crm.unnamed.v1.UnnamedService", "GetThing", {std::string(kKnownRoles[r])}));
    }
}

}  // namespace

TEST_CASE("role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    const auto policy = Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog);
    CheckMatrix(policy);
    // The plans the integration tests and the benchmark rely on.
    CHECK(policy.TenantLimit("rl-0123456789ab") == crm::gateway::RateLimit{0.2, 5});
    CHECK(policy.TenantLimit("bench1700000000").has_value());
}

TEST_CASE("role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

TEST_CASE("role matrix: the linked descriptors catch a misspelt method in a policy") {
    const LinkedDescriptors catalog;
    CHECK_THROWS_WITH(
        Policy::Parse(
            R"({"rules": [{"roles": ["admin"], "methods": ["crm.contacts.v1.ContactsService/GetContacts"]}]})",
            &catalog),
        Catch::Contains("crm.contacts.v1.ContactsService has no method \"GetContacts\""));
}

TEST_CASE("retries: reads declared without side effects are retryable, writes and streams never") {
    const auto safe = crm::gateway::SafeToRetry();
    const auto has = [&](const std::string& m) { return std::find(safe.begin(), safe.end(), m) != safe.end(); };
    for (const char* read :
         {"crm.contacts.v1.ContactsService/GetContact", "crm.contacts.v1.ContactsService/ListContacts",
          "crm.contacts.v1.ContactsService/SearchContacts", "crm.leads.v1.LeadsService/GetLead",
          "crm.gateway.v1.ApiKeysService/ListApiKeys"}) {
        CHECK(has(read));
    }
    for (const char* write : {"crm.contacts.v1.ContactsService/CreateContact",
                              "crm.contacts.v1.ContactsService/MergeContacts", "crm.leads.v1.LeadsService/ConvertLead",
                              "crm.leads.v1.LeadsService/ImportLeads", "crm.gateway.v1.ApiKeysService/CreateApiKey"}) {
        CHECK_FALSE(has(write));
    }
}
