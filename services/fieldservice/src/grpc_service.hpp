#pragma once
// The crm.fieldservice.v1.FieldServiceService implementation: one class, whose RPCs each area defines in its
// handlers.cpp (workorders, technicians, scheduling, parts). A handler checks the whole request with the kit's
// validators (every problem reported at once as field violations, before any lookup or write), calls its area's
// application code and fills the response; every error leaves as a crm::common::ApiError through the common RPC
// boundary. Include only from handlers and wiring: it pulls in the generated gRPC service.
#include <crm/fieldservice/v1/fieldservice.grpc.pb.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"
#include "records.hpp"
#include "scheduling/scheduling.hpp"
#include "technicians/settings.hpp"

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::fieldservice {

namespace v1 = crm::fieldservice::v1;

#define CRM_FS_RPC(name) \
    grpc::Status name(grpc::ServerContext* sc, const v1::name##Request* req, v1::name##Response* resp) override;

class FieldService final : public v1::FieldServiceService::Service {
  public:
    FieldService(common::RpcRuntime& rpc, common::Metrics& metrics, common::Db& db, common::Outbox& outbox,
                 scheduling::Settings scheduling, technicians::LocationSettings locations);

    // workorders/handlers.cpp
    CRM_FS_RPC(CreateWorkOrder)
    CRM_FS_RPC(GetWorkOrder)
    CRM_FS_RPC(ListWorkOrders)
    CRM_FS_RPC(UpdateWorkOrder)
    CRM_FS_RPC(ChangeWorkOrderStatus)
    CRM_FS_RPC(CompleteWorkOrder)
    // technicians/handlers.cpp
    CRM_FS_RPC(CreateTechnician)
    CRM_FS_RPC(GetTechnician)
    CRM_FS_RPC(ListTechnicians)
    CRM_FS_RPC(UpdateTechnician)
    CRM_FS_RPC(ReportLocation)
    // scheduling/handlers.cpp
    CRM_FS_RPC(FindCandidates)
    CRM_FS_RPC(DispatchWorkOrder)
    CRM_FS_RPC(RescheduleWorkOrder)
    CRM_FS_RPC(UnassignWorkOrder)
    CRM_FS_RPC(ListAppointments)
    CRM_FS_RPC(PlanDay)
    // mobile/handlers.cpp
    CRM_FS_RPC(SyncTechnicianDay)
    // parts/handlers.cpp
    CRM_FS_RPC(CreatePart)
    CRM_FS_RPC(GetPart)
    CRM_FS_RPC(ListParts)
    CRM_FS_RPC(CreateStockLocation)
    CRM_FS_RPC(ListStockLocations)
    CRM_FS_RPC(AdjustStock)
    CRM_FS_RPC(TransferStock)
    CRM_FS_RPC(ReservePart)
    CRM_FS_RPC(ListStockLevels)
    // cases/handlers.cpp
    CRM_FS_RPC(SetVisitCategories)
    CRM_FS_RPC(ListVisitCategories)

  private:
    // The paths an update changes: update_mask ("*" = every allowed path), or without a mask the allowed fields that
    // `is_set` finds given. Unknown or read-only paths, duplicates or nothing to update: a violation on
    // "update_mask"; no paths are returned then.
    static std::vector<std::string> UpdatePaths(common::Violations& v, const google::protobuf::FieldMask& mask,
                                                const std::vector<std::string>& allowed,
                                                const std::function<bool(const std::string&)>& is_set);
    static bool Has(const std::vector<std::string>& paths, const char* path);
    // A completion's answers, notes, signature and parts used (workorders/handlers.cpp); ids lowercased.
    static void CheckCompletion(common::Violations& v, v1::Completion* c, const std::string& field);
    // One offline operation of SyncTechnicianDay (mobile/handlers.cpp); ids lowercased.
    static void CheckSyncOperation(common::Violations& v, v1::SyncOperation* op, const std::string& field);
    // An optional time of a change made offline: in range, at most a minute ahead of the clock; default now.
    static std::int64_t ChangeTime(common::Violations& v, bool present, const google::protobuf::Timestamp& t,
                                   const std::string& field);

    common::RpcRuntime& rpc_;
    common::Db& db_;
    common::Outbox& outbox_;
    scheduling::Settings scheduling_;
    technicians::LocationSettings locations_;
    FieldServiceMetrics metrics_;
};

#undef CRM_FS_RPC

}  // namespace crm::fieldservice
