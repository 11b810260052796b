// The role matrix of the analytics service: both shipped policies (deploy/local/gateway-policy.json and the
// ConfigMap of k8s/base/gateway-policy.json) against a table written out here, for every role and every RPC of
// crm.analytics.v1.AnalyticsService (enumerated from its descriptor, so a new RPC fails this test until the table
// says who may call it). Who reads KPIs: analysts, sales managers and admins; support KPIs: analysts, support managers
// and admins; campaign KPIs: marketers, analysts and admins; RebuildProjections: admins only.
#include <crm/analytics/v1/analytics.pb.h>

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

constexpr char kService[] = "crm.analytics.v1.AnalyticsService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                                admin mgr  rep  mkt  sup  tech anl  ro   wf   disp supm aud  priv
const std::map<std::string, std::array<int, 13>> kAnalyticsMatrix = {
    {"GetKpis",                     /* read */   {1,    1,   0,   0,   0,   0,   1,   0,   0,   0,   0,   0,   0}},
    {"GetTimeSeries",               /* read */   {1,    1,   0,   0,   0,   0,   1,   0,   0,   0,   0,   0,   0}},
    {"GetSupportKpis",              /* support */{1,    0,   0,   0,   0,   0,   1,   0,   0,   0,   1,   0,   0}},
    {"GetFieldKpis",                /* field */  {1,    0,   0,   0,   0,   0,   1,   0,   0,   1,   0,   0,   0}},
    {"GetCampaignKpis",             /* mkt */    {1,    0,   0,   1,   0,   0,   1,   0,   0,   0,   0,   0,   0}},
    {"RebuildProjections",          /* admin */  {1,    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0}},
};
// clang-format on

void CheckMatrix(const Policy& policy) {
    CheckServiceMatrix(policy, kService,
                       MethodsOf(crm::analytics::v1::GetKpisRequest::descriptor()->file(), "AnalyticsService"),
                       kAnalyticsMatrix);
}

}  // namespace

TEST_CASE("analytics role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("analytics role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

TEST_CASE("analytics role matrix: the linked descriptors catch a misspelt analytics method") {
    const LinkedDescriptors catalog;
    CHECK_THROWS_WITH(
        Policy::Parse(R"({"rules": [{"roles": ["analyst"], "methods": ["crm.analytics.v1.AnalyticsService/GetKpi"]}]})",
                      &catalog),
        Catch::Contains("crm.analytics.v1.AnalyticsService has no method \"GetKpi\""));
}
