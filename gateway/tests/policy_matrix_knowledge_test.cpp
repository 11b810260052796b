// The role matrices of the support knowledge base (crm.support.v1.KnowledgeService) and of the customer view
// (crm.support.v1.CustomerViewService, support roles only). The knowledge base: both shipped policies against a
// table written out here, for every role and every RPC of the service (enumerated from its descriptor, so a new RPC
// fails this test until the table says who may call it). Support agents and managers read, search, rate and link
// articles; only support managers (and admins) write, review, publish and archive them.
#include <crm/support/v1/csat.pb.h>
#include <crm/support/v1/customer360.pb.h>
#include <crm/support/v1/knowledge.pb.h>

#include <array>
#include <catch2/catch.hpp>
#include <map>

#include "policy/policy.hpp"
#include "policy_matrix.hpp"
#include "register.hpp"

using crm::gateway::LinkedDescriptors;
using crm::gateway::Policy;
using crm::gateway::testing::CheckServiceMatrix;
using crm::gateway::testing::K8sPolicyJson;
using crm::gateway::testing::MethodsOf;

namespace {

constexpr char kService[] = "crm.support.v1.KnowledgeService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                           admin mgr  rep  mkt  sup  tech anl  ro   wf   disp smgr
const std::map<std::string, std::array<int, 11>> kKnowledgeMatrix = {
    {"CreateArticle",       /* write */     {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"GetArticle",          /* read */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"ListArticles",        /* read */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"UpdateArticle",       /* write */     {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"ChangeArticleState",  /* write */     {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"ListArticleVersions", /* read */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"SearchArticles",      /* read */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"SuggestArticles",     /* read */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"RateArticle",         /* feedback */  {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"LinkArticleToCase",   /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"ListCaseArticles",    /* read */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
};
// clang-format on

void CheckMatrix(const Policy& policy) {
    CheckServiceMatrix(policy, kService,
                       MethodsOf(crm::support::v1::GetArticleRequest::descriptor()->file(), "KnowledgeService"),
                       kKnowledgeMatrix);
}

}  // namespace

TEST_CASE("knowledge role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("knowledge role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

namespace {

// clang-format off
//                                           admin mgr  rep  mkt  sup  tech anl  ro   wf   disp smgr
const std::map<std::string, std::array<int, 11>> kViewMatrix = {
    {"GetCustomer360",      /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
};
// clang-format on

void CheckViewMatrix(const Policy& policy) {
    CheckServiceMatrix(policy, "crm.support.v1.CustomerViewService",
                       MethodsOf(crm::support::v1::GetCustomer360Request::descriptor()->file(), "CustomerViewService"),
                       kViewMatrix);
}

}  // namespace

TEST_CASE("customer view role matrix: both shipped policies grant exactly the table") {
    const LinkedDescriptors catalog;
    CheckViewMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
    CheckViewMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

namespace {

// The survey's answer and page are public links (no role grants them; admins pass every method at the gateway and
// the service refuses anyone but the link); the report is for support managers.
// clang-format off
//                                           admin mgr  rep  mkt  sup  tech anl  ro   wf   disp smgr
const std::map<std::string, std::array<int, 11>> kCsatMatrix = {
    {"AnswerCsatSurvey",    /* by link */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0}},
    {"GetCsatSurveyPage",   /* by link */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0}},
    {"GetCsatReport",       /* manager */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
};
// clang-format on

void CheckCsat(const Policy& policy) {
    CheckServiceMatrix(policy, "crm.support.v1.CsatService",
                       MethodsOf(crm::support::v1::GetCsatReportRequest::descriptor()->file(), "CsatService"),
                       kCsatMatrix);
    for (const char* method : {"AnswerCsatSurvey", "GetCsatSurveyPage"}) {
        const auto* rule = policy.PublicTokenFor("crm.support.v1.CsatService", method);
        REQUIRE(rule != nullptr);
        CHECK(rule->purpose == "csat");
        CHECK(rule->token_field == "token");
        CHECK(rule->redirect_field.empty());
    }
    CHECK(policy.PublicTokenFor("crm.support.v1.CsatService", "GetCsatReport") == nullptr);
}

}  // namespace

TEST_CASE("csat role matrix: both shipped policies grant exactly the table, the survey by its link only") {
    const LinkedDescriptors catalog;
    CheckCsat(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
    CheckCsat(Policy::Parse(K8sPolicyJson(), &catalog));
}
