// The role matrix of crm.support.v1.SupportRoutingService (queues, presence, routing rules, routing, sentiment) in both
// shipped policies, for every role and every RPC (enumerated from the descriptor, so a new RPC fails this test until
// the table says who may call it): support agents and managers read queues and rules, set presence and route cases;
// only support managers (and admins) create and change queues and rules; nobody else calls any of it.
#include <crm/support/v1/routing.pb.h>

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

constexpr char kService[] = "crm.support.v1.SupportRoutingService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                           admin mgr  rep  mkt  sup  tech anl  ro   wf   disp smgr
const std::map<std::string, std::array<int, 11>> kRoutingMatrix = {
    {"CreateQueue",         /* manager */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"GetQueue",            /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"ListQueues",          /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"UpdateQueue",         /* manager */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"SetAgentPresence",    /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"GetAgentPresence",    /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"GetRoutingRules",     /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"UpdateRoutingRules",  /* manager */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"RouteCase",           /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"ListCaseRoutings",    /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"GetSentimentRule",    /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
    {"UpdateSentimentRule", /* manager */   {1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   1}},
    {"GetCaseSentiment",    /* support */   {1,   0,   0,   0,   1,   0,   0,   0,   0,   0,   1}},
};
// clang-format on

void CheckMatrix(const Policy& policy) {
    CheckServiceMatrix(policy, kService,
                       MethodsOf(crm::support::v1::GetQueueRequest::descriptor()->file(), "SupportRoutingService"),
                       kRoutingMatrix);
}

}  // namespace

TEST_CASE("support routing role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("support routing role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}
