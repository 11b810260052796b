// The role matrix of the field-service service: both shipped policies (deploy/local/gateway-policy.json and the
// ConfigMap of k8s/base/gateway-policy.json) against a table written out here, for every role and every RPC of
// crm.fieldservice.v1.FieldServiceService (enumerated from its descriptor, so a new RPC fails this test until the
// table says who may call it). Dispatchers and support managers run field service; technicians work their own jobs
// (the service narrows each call to the jobs booked for them); support agents open and follow visits; analysts and
// read-only users read.
#include <crm/fieldservice/v1/fieldservice.pb.h>

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

constexpr char kService[] = "crm.fieldservice.v1.FieldServiceService";

// Columns in the order of kKnownRoles.
// clang-format off
//                                               admin mgr rep mkt sup tech anl ro  wf  disp smgr
const std::map<std::string, std::array<int, 11>> kFieldServiceMatrix = {
    {"CreateWorkOrder",       /* write */       {1,    0,  0,  0,  1,  0,   0,  0,  0,  1,   1}},
    {"GetWorkOrder",          /* read, own */   {1,    0,  0,  0,  1,  1,   1,  1,  0,  1,   1}},
    {"ListWorkOrders",        /* read, own */   {1,    0,  0,  0,  1,  1,   1,  1,  0,  1,   1}},
    {"UpdateWorkOrder",       /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"ChangeWorkOrderStatus", /* work, own */   {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"CompleteWorkOrder",     /* work, own */   {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"CreateTechnician",      /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"GetTechnician",         /* read, own */   {1,    0,  0,  0,  0,  1,   1,  1,  0,  1,   1}},
    {"ListTechnicians",       /* read */        {1,    0,  0,  0,  0,  0,   1,  1,  0,  1,   1}},
    {"UpdateTechnician",      /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"FindCandidates",        /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"DispatchWorkOrder",     /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"RescheduleWorkOrder",   /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"UnassignWorkOrder",     /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"ListAppointments",      /* read, own */   {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"PlanDay",               /* read, own */   {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"ReportLocation",        /* work, own */   {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"SyncTechnicianDay",     /* work, own */   {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"CreatePart",            /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"GetPart",               /* read */        {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"ListParts",             /* read */        {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"CreateStockLocation",   /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"ListStockLocations",    /* read */        {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"AdjustStock",           /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"TransferStock",         /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"ReservePart",           /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"ListStockLevels",       /* read */        {1,    0,  0,  0,  0,  1,   0,  0,  0,  1,   1}},
    {"SetVisitCategories",    /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
    {"ListVisitCategories",   /* plan */        {1,    0,  0,  0,  0,  0,   0,  0,  0,  1,   1}},
};
// clang-format on

void CheckMatrix(const Policy& policy) {
    CheckServiceMatrix(
        policy, kService,
        MethodsOf(crm::fieldservice::v1::GetWorkOrderRequest::descriptor()->file(), "FieldServiceService"),
        kFieldServiceMatrix);
}

}  // namespace

TEST_CASE("fieldservice role matrix: the local policy file grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog));
}

TEST_CASE("fieldservice role matrix: the Kubernetes ConfigMap grants exactly the table") {
    const LinkedDescriptors catalog;
    CheckMatrix(Policy::Parse(K8sPolicyJson(), &catalog));
}

TEST_CASE("fieldservice role matrix: the new roles grant nothing outside field service") {
    const LinkedDescriptors catalog;
    const Policy policy = Policy::Load(std::string(CRM_SOURCE_DIR) + "/deploy/local/gateway-policy.json", &catalog);
    CHECK_FALSE(policy.Allows("crm.contacts.v1.ContactsService", "DeleteContact", {"dispatcher"}));
    CHECK_FALSE(policy.Allows("crm.sales.v1.SalesService", "CreateOpportunity", {"support_manager"}));
    CHECK(policy.Allows(kService, "DispatchWorkOrder", {"dispatcher"}));
}
