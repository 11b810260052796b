// The role matrix of the support service: both shipped policies (deploy/local/gateway-policy.json and the ConfigMap in
// k8s/base/gateway-policy.json) against a table written out here, for every role and every RPC of
// crm.support.v1.SupportService (enumerated from its descriptor, so a new RPC fails this test until the table says who
// may call it). Support agents and managers work cases and read SLA policy and status; sales roles and read-only
// users read cases; only support managers (and admins) change the SLA policy.
#include <crm/support/v1/support.pb.h>

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

constexpr char kService[] = "crm.support.v1.SupportService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                           admin mgr  rep  mkt  sup  tech anl  ro   wf   disp smgr
const std::map<std::string, std::array<int, 11>> kSupportMatrix = {
    {"CreateCase",          /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"GetCase",             /* read */      {1,   1,   1,   0,   1,   0,   0,   1,   0,   0,   1}},
    {"ListCases",           /* read */      {1,   1,   1,   0,   1,   0,   0,   1,   0,   0,   1}},
    {"UpdateCase",          /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"ChangeCaseStatus",    /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"AssignCase",          /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"MergeCases",          /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"AddCaseMessage",      /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"ListCaseMessages",    /* read */      {1,   1,   1,   0,   1,   0,   0,   1,   0,   0,   1}},
    {"IngestEmail",         /* work */      {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"GetSlaPolicy",        /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"UpdateSlaPolicy",     /* manager */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"GetSlaStatus",        /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
};
// clang-format on

void CheckMatrix(const Policy& policy) {
    CheckServiceMatrix(policy, kService,
                       MethodsOf(crm::support::v1::GetCaseRequest::descriptor()->file(), "SupportService"),
                       kSupportMatrix);
}

}  // namespace

TEST_CASE("support role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("support role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

TEST_CASE("support role matrix: support_manager is a known role, granted nothing outside support") {
    const LinkedDescriptors catalog;
    const Policy policy = Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog);
    CHECK(policy.Allows(kService, "CreateCase", {"support_manager"}));
    CHECK_FALSE(policy.Allows("crm.sales.v1.SalesService", "CreateOpportunity", {"support_manager"}));
    CHECK_FALSE(policy.Allows("crm.analytics.v1.AnalyticsService", "RebuildProjections", {"support_manager"}));
}
