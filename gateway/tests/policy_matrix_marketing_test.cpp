// The role matrix of the marketing service: both shipped policies (deploy/local/gateway-policy.json and the ConfigMap
// in k8s/base/gateway-policy.json) against a table written out here, for every role and every RPC of
// crm.marketing.v1.MarketingService (enumerated from its descriptor, so a new RPC fails this test until the table says
// who may call it). Marketers write, analysts read, admins do everything; nobody else sees marketing. OpenTrackedLink
// and Unsubscribe are reached through public link tokens (the policy's public_tokens), no role grants them.
#include <crm/marketing/v1/marketing.pb.h>

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

constexpr char kService[] = "crm.marketing.v1.MarketingService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                                admin mgr  rep  mkt  sup  tech anl  ro   wf
const std::map<std::string, std::array<int, 9>> kMarketingMatrix = {
    {"CreateCampaign",              /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"GetCampaign",                 /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"ListCampaigns",               /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"UpdateCampaign",              /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"AddCampaignCost",             /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"ListCampaignCosts",           /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"CreateTrackedLink",           /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"ListTrackedLinks",            /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"GetAudienceMember",           /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"GetSegment",                  /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"ListSegments",                /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"ListSegmentMembers",          /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"PreviewSegment",              /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"CreateSegment",               /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"UpdateSegment",               /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"AddSegmentMembers",           /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"RemoveSegmentMembers",        /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"GetEmailSettings",            /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"GetEmailTemplate",            /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"GetEmailSend",                /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"UpdateEmailSettings",         /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"CreateEmailTemplate",         /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"CreateEmailSend",             /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"OpenTrackedLink",             /* public */ {1,    0,   0,   0,   0,   0,   0,   0,   0}},
    {"Unsubscribe",                 /* public */ {1,    0,   0,   0,   0,   0,   0,   0,   0}},
    {"OpenEmailPixel",              /* public */ {1,    0,   0,   0,   0,   0,   0,   0,   0}},
    {"GetCampaignPerformance",      /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"CreateSequence",              /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"UpdateSequence",              /* write */  {1,    0,   0,   1,   0,   0,   0,   0,   0}},
    {"GetSequence",                 /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"ListSequences",               /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"ListSequenceEnrolments",      /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
    {"GetSequenceSplitReport",      /* read */   {1,    0,   0,   1,   0,   0,   1,   0,   0}},
};
// clang-format on

// Methods support's roles read too (columns up to support_manager).
// clang-format off
//                                                admin mgr  rep  mkt  sup  tech anl  ro   wf   disp smgr
const std::map<std::string, std::array<int, 11>> kSupportReadMatrix = {
    {"ListPersonEngagement",        /* read */   {1,    0,   0,   1,   1,   0,   1,   0,   0,   0,   1}},
};
// clang-format on

void CheckMatrix(const Policy& policy) {
    std::vector<std::string> methods;
    std::vector<std::string> support_read;
    for (auto& m : MethodsOf(crm::marketing::v1::GetCampaignRequest::descriptor()->file(), "MarketingService")) {
        (kSupportReadMatrix.count(m) ? support_read : methods).push_back(m);
    }
    CHECK(support_read.size() == kSupportReadMatrix.size());
    CheckServiceMatrix(policy, kService, methods, kMarketingMatrix);
    CheckServiceMatrix(policy, kService, support_read, kSupportReadMatrix);
}

}  // namespace

TEST_CASE("marketing role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("marketing role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}
