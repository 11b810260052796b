// The scheduling and dispatch RPCs of FieldService (see grpc_service.hpp).
#include "crm/common/resource.hpp"
#include "crm/common/validate.hpp"
#include "domain/checks.hpp"
#include "grpc_service.hpp"
#include "scheduling/scheduling.hpp"

namespace crm::fieldservice {
namespace {

using common::RequestContext;

constexpr int kDefaultCandidates = 10;
constexpr int kMaxCandidates = 50;

void CheckBooking(common::Violations& v, const std::string& technician_id, bool has_start,
                  const google::protobuf::Timestamp& start) {
    if (has_start && common::CheckTime(v, start.seconds(), start.nanos(), "start_time") && technician_id.empty()) {
        v.Add("start_time", "a start time needs technician_id");
    }
}

}  // namespace

grpc::Status FieldService::FindCandidates(grpc::ServerContext* sc, const v1::FindCandidatesRequest* req,
                                          v1::FindCandidatesResponse* resp) {
    return rpc_.Handle(sc, "FindCandidates", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->work_order_id(), "work_order_id");
        if (req->max_candidates() < 0 || req->max_candidates() > kMaxCandidates) {
            v.Add("max_candidates", "must be 0 (default 10) to 50");
        }
        v.ThrowIfAny();
        const int max = req->max_candidates() == 0 ? kDefaultCandidates : req->max_candidates();
        for (auto& c : scheduling::FindCandidates(db_, rc, scheduling_, id, max)) *resp->add_candidates() = c;
    });
}

grpc::Status FieldService::DispatchWorkOrder(grpc::ServerContext* sc, const v1::DispatchWorkOrderRequest* req,
                                             v1::DispatchWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "DispatchWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        v1::DispatchWorkOrderRequest in = *req;
        in.set_work_order_id(common::CheckId(v, in.work_order_id(), "work_order_id"));
        in.set_technician_id(domain::CheckOptionalId(v, in.technician_id(), "technician_id"));
        CheckBooking(v, in.technician_id(), in.has_start_time(), in.start_time());
        domain::CheckEtagSyntax(v, in.etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_work_order() = scheduling::Dispatch(db_, outbox_, rc, scheduling_, in, metrics_);
    });
}

grpc::Status FieldService::RescheduleWorkOrder(grpc::ServerContext* sc, const v1::RescheduleWorkOrderRequest* req,
                                               v1::RescheduleWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "RescheduleWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        v1::RescheduleWorkOrderRequest in = *req;
        in.set_work_order_id(common::CheckId(v, in.work_order_id(), "work_order_id"));
        in.set_technician_id(domain::CheckOptionalId(v, in.technician_id(), "technician_id"));
        if (in.has_start_time()) common::CheckTime(v, in.start_time().seconds(), in.start_time().nanos(), "start_time");
        domain::CheckEtagSyntax(v, in.etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_work_order() = scheduling::Reschedule(db_, outbox_, rc, scheduling_, in, metrics_);
    });
}

grpc::Status FieldService::UnassignWorkOrder(grpc::ServerContext* sc, const v1::UnassignWorkOrderRequest* req,
                                             v1::UnassignWorkOrderResponse* resp) {
    return rpc_.Handle(sc, "UnassignWorkOrder", [&](const RequestContext& rc) {
        common::Violations v;
        v1::UnassignWorkOrderRequest in = *req;
        in.set_work_order_id(common::CheckId(v, in.work_order_id(), "work_order_id"));
        domain::CheckEtagSyntax(v, in.etag(), "etag");
        v.ThrowIfAny();
        *resp->mutable_work_order() = scheduling::Unassign(db_, outbox_, rc, in);
    });
}

grpc::Status FieldService::ListAppointments(grpc::ServerContext* sc, const v1::ListAppointmentsRequest* req,
                                            v1::ListAppointmentsResponse* resp) {
    return rpc_.Handle(sc, "ListAppointments", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->technician_id(), "technician_id");
        const auto& w = req->window();
        domain::CheckWindow(v, {w.has_start_time(), w.start_time().seconds(), w.start_time().nanos()},
                            {w.has_end_time(), w.end_time().seconds(), w.end_time().nanos()}, "window");
        v.ThrowIfAny();
        for (auto& a : scheduling::ListAppointments(db_, rc, id, Micros(w.start_time()), Micros(w.end_time()))) {
            *resp->add_appointments() = std::move(a);
        }
    });
}

grpc::Status FieldService::PlanDay(grpc::ServerContext* sc, const v1::PlanDayRequest* req, v1::PlanDayResponse* resp) {
    return rpc_.Handle(sc, "PlanDay", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->technician_id(), "technician_id");
        const auto date = domain::CheckDate(v, req->date(), "date");
        v.ThrowIfAny();
        *resp = scheduling::PlanDay(db_, rc, scheduling_, id, *date);
    });
}

}  // namespace crm::fieldservice
