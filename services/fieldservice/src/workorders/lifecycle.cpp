// Work-order lifecycle: status changes and completion (see workorders.hpp).
#include <crm/fieldservice/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>
#include <prometheus/counter.h>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/resource.hpp"
#include "crm/common/sealed_columns.hpp"
#include "parts/parts.hpp"
#include "records.hpp"
#include "scheduling/scheduling.hpp"
#include "sealed.hpp"
#include "workorders/sql.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice::workorders {
namespace {

namespace ev = crm::fieldservice::events::v1;
using common::ApiError;

// A change recorded at `at_micros` may not lie before the work order's last change (changes arrive in order, also
// when they were made offline and synced late).
void RequireInOrder(const v1::WorkOrder& wo, std::int64_t at_micros) {
    if (wo.history_size() > 0 && at_micros < Micros(wo.history(wo.history_size() - 1).change_time())) {
        throw ApiError::FailedPrecondition("the change is dated before the work order's last change", "OUT_OF_ORDER");
    }
}

}  // namespace

std::int64_t EnteredAt(const v1::WorkOrder& wo, v1::WorkOrderStatus status) {
    for (int i = wo.history_size() - 1; i >= 0; --i) {
        if (wo.history(i).to_status() == status) return Micros(wo.history(i).change_time());
    }
    return 0;
}

v1::WorkOrder ChangeStatus(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                           const v1::ChangeWorkOrderStatusRequest& req, std::int64_t change_micros,
                           FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::WorkOrder current = Load(db, tx, rc.tenant_id, req.id(), true);
        RequireVisible(db, tx, rc, current);
        common::CheckEtag(req.etag(), current.version());
        return ChangeStatusIn(db, outbox, tx, rc, current, req, change_micros, metrics);
    });
}

v1::WorkOrder ChangeStatusIn(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                             const RequestContext& rc, const v1::WorkOrder& current,
                             const v1::ChangeWorkOrderStatusRequest& req, std::int64_t change_micros,
                             FieldServiceMetrics& metrics) {
    const std::string& t = rc.tenant_id;
    const auto from = static_cast<domain::Status>(current.status());
    const auto to = static_cast<domain::Status>(req.status());
    if (auto rule = domain::CheckStatusChange(from, to, ActorOf(rc).technician_only)) {
        throw ApiError::FailedPrecondition(rule->message, rule->reason);
    }
    RequireInOrder(current, change_micros);
    if (to == domain::Status::kCancelled) {
        scheduling::ReleaseBooking(db, tx, t, current.id());
        parts::ReleaseReservations(db, outbox, tx, rc, current.id(), metrics);
    }
    if (to == domain::Status::kCannotComplete) scheduling::FinishBooking(db, tx, t, current.id());
    const v1::WorkOrder next = Transition(db, tx, rc, current, to, change_micros, req.reason(), std::string());
    const auto& technician = next.appointment().technician_id();
    if (to == domain::Status::kDispatched) {
        ev::WorkOrderDispatched event;
        *event.mutable_work_order() = next;
        event.set_technician_id(technician);
        Emit(outbox, tx, rc, "work_order", next.id(), next.version(), event, FromMicros(change_micros));
    } else if (to == domain::Status::kEnRoute) {
        ev::TechnicianEnRoute event;
        *event.mutable_work_order() = next;
        event.set_technician_id(technician);
        *event.mutable_eta() = FromMicros(change_micros + next.appointment().travel_minutes() * 60000000LL);
        Emit(outbox, tx, rc, "work_order", next.id(), next.version(), event, FromMicros(change_micros));
    } else {
        ev::WorkOrderStatusChanged event;
        *event.mutable_work_order() = next;
        *event.mutable_change() = next.history(next.history_size() - 1);
        Emit(outbox, tx, rc, "work_order", next.id(), next.version(), event, FromMicros(change_micros));
    }
    return next;
}

v1::WorkOrder Complete(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                       const v1::CompleteWorkOrderRequest& req, std::int64_t complete_micros,
                       FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const v1::WorkOrder current = Load(db, tx, rc.tenant_id, req.id(), true);
        RequireVisible(db, tx, rc, current);
        common::CheckEtag(req.etag(), current.version());
        return CompleteIn(db, outbox, tx, rc, current, req, complete_micros, metrics);
    });
}

v1::WorkOrder CompleteIn(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                         const v1::WorkOrder& current, const v1::CompleteWorkOrderRequest& req,
                         std::int64_t complete_micros, FieldServiceMetrics& metrics) {
    const std::string& t = rc.tenant_id;
    if (auto rule = domain::CheckComplete(static_cast<domain::Status>(current.status()))) {
        throw ApiError::FailedPrecondition(rule->message, rule->reason);
    }
    RequireInOrder(current, complete_micros);
    common::Violations v;
    for (int i = 0; i < req.completion().checklist_answers_size(); ++i) {
        const auto& item = req.completion().checklist_answers(i).item();
        if (std::find(current.checklist().begin(), current.checklist().end(), item) == current.checklist().end()) {
            v.Add("completion.checklist_answers[" + std::to_string(i) + "].item",
                  "is not an item of the work order's checklist");
        }
    }
    v.ThrowIfAny();
    const std::vector<v1::PartUsage> used(req.completion().parts_used().begin(), req.completion().parts_used().end());
    parts::Consume(db, outbox, tx, rc, current.id(), used, metrics);
    scheduling::FinishBooking(db, tx, t, current.id());
    bool first_time_fix = true;
    if (!current.case_id().empty()) {
        first_time_fix =
            db.Exec(tx, sql::kFailedVisitsOfCase, t, current.case_id(), current.id())[0][0].as<long>() == 0;
    }
    v1::Completion completion = req.completion();
    completion.clear_signature();
    completion.set_first_time_fix(first_time_fix);
    *completion.mutable_complete_time() = FromMicros(complete_micros);
    // The notes and answers are stored sealed under the work order's key (migration 0007; ReadWorkOrder opens them).
    common::ColumnSealer sealer(db, tx, t);
    completion.set_notes(sealer.Seal(current.id(), sealed::kCompletionNotes, completion.notes()));
    for (auto& answer : *completion.mutable_checklist_answers()) {
        answer.set_answer(sealer.Seal(current.id(), sealed::kChecklistAnswer, answer.answer()));
    }
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(completion, &json).ok()) {
        throw std::runtime_error("completion not serialisable");
    }
    db.Exec(tx, sql::kSetCompletion, t, current.id(), json, common::HexEncode(req.completion().signature()));
    const v1::WorkOrder done =
        Transition(db, tx, rc, current, domain::Status::kCompleted, complete_micros, "", std::string());
    const std::int64_t on_site = EnteredAt(current, v1::WORK_ORDER_STATUS_ON_SITE);
    bool window_kept = current.time_windows_size() == 0;
    for (const auto& w : current.time_windows()) {
        window_kept = window_kept || (Micros(w.start_time()) <= on_site && on_site < Micros(w.end_time()));
    }
    ev::WorkOrderCompleted event;
    *event.mutable_work_order() = done;
    event.set_duration_seconds((complete_micros - on_site) / 1000000);
    event.set_travel_seconds(done.appointment().travel_minutes() * 60LL);
    event.set_first_time_fix(first_time_fix);
    *event.mutable_parts_used() = req.completion().parts_used();
    event.set_case_id(current.case_id());
    event.set_window_kept(window_kept);
    Emit(outbox, tx, rc, "work_order", done.id(), done.version(), event, FromMicros(complete_micros));
    metrics.completions.Increment();
    return done;
}

}  // namespace crm::fieldservice::workorders
