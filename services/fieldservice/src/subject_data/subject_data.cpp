#include "subject_data/subject_data.hpp"

#include <crm/fieldservice/v1/fieldservice.pb.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "crm/common/crypto.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/subject_data.hpp"
#include "sealed.hpp"
#include "subject_data/sql.hpp"

namespace crm::fieldservice::subject_data {
namespace {

namespace v1 = crm::fieldservice::v1;

common::SubjectExport ExportOf(common::SubjectCall& call, const common::Sql& statement,
                               const common::Subject& subject) {
    const pqxx::row row =
        call.db.Exec(call.tx, statement, call.rc.tenant_id, common::ParamsOf(subject).contact_ids).at(0);
    return {.count = row[1].as<std::int64_t>(), .json = row[0].as<std::string>()};
}

// The person's work orders, every sealed value opened (the person is owed the clear values, not the sealed bytes).
common::SubjectExport ExportWorkOrders(common::SubjectCall& call, const common::Subject& subject) {
    nlohmann::json out = nlohmann::json::array();
    const auto open = [](const common::ColumnKey& key, nlohmann::json& owner, const char* field, const char* column) {
        if (owner.contains(field) && owner[field].is_string()) {
            owner[field] = key.Open(column, owner[field].get<std::string>());
        }
    };
    for (const auto& row :
         call.db.Exec(call.tx, sql::kExportWorkOrders, call.rc.tenant_id, common::ParamsOf(subject).contact_ids)) {
        const common::ColumnKey key(call.rc.tenant_id, row[0].as<std::string>(), row[2]);
        nlohmann::json w = nlohmann::json::parse(row[1].as<std::string>());
        open(key, w, "title", sealed::kTitle);
        open(key, w, "description", sealed::kDescription);
        open(key, w, "site_address", sealed::kSiteAddress);
        open(key, w, "status_reason", sealed::kStatusReason);
        for (auto& h : w["history"]) open(key, h, "reason", sealed::kHistoryReason);
        if (w["completion"].is_object()) {
            open(key, w["completion"], "notes", sealed::kCompletionNotes);
            if (w["completion"]["checklistAnswers"].is_array()) {
                for (auto& a : w["completion"]["checklistAnswers"]) open(key, a, "answer", sealed::kChecklistAnswer);
            }
        }
        out.push_back(std::move(w));
    }
    return {.count = static_cast<std::int64_t>(out.size()), .json = out.dump()};
}

std::vector<std::string> WorkOrderIds(common::SubjectCall& call, const common::Subject& subject) {
    std::vector<std::string> ids;
    for (const auto& row :
         call.db.Exec(call.tx, sql::kWorkOrderIds, call.rc.tenant_id, common::ParamsOf(subject).contact_ids)) {
        ids.push_back(row[0].as<std::string>());
    }
    return ids;
}

// The personal fields of a work order as a reply carries it, blanked as kEraseWorkOrders blanks the row.
void Blank(v1::WorkOrder& w) {
    if (w.id().empty()) return;
    w.set_title("(erased)");
    w.clear_description();
    w.clear_site();
    w.clear_status_reason();
    for (auto& change : *w.mutable_history()) change.clear_reason();
    if (w.has_completion()) {
        auto* c = w.mutable_completion();
        c->clear_notes();
        c->clear_signature();
        for (auto& answer : *c->mutable_checklist_answers()) answer.clear_answer();
    }
}

void Blank(v1::SyncOperationResult& r) {
    if (r.has_work_order()) Blank(*r.mutable_work_order());
    if (r.has_first_result()) Blank(*r.mutable_first_result());
}

struct StoredOperation {
    std::string technician_id, idempotency_key, work_order_id;
    v1::SyncOperationResult result;
    std::string bytes;
    std::int64_t create_micros = 0;
};

std::vector<StoredOperation> Operations(common::SubjectCall& call, const common::Subject& subject) {
    std::vector<StoredOperation> out;
    for (const auto& row :
         call.db.Exec(call.tx, sql::kSyncOperations, call.rc.tenant_id, common::ParamsOf(subject).contact_ids)) {
        StoredOperation op;
        op.technician_id = row[0].as<std::string>();
        op.idempotency_key = row[1].as<std::string>();
        op.work_order_id = row[2].as<std::string>();
        op.bytes = common::ColumnKey(call.rc.tenant_id, op.work_order_id, row[5])
                       .Open(sealed::kSyncResult, common::HexDecode(row[3].as<std::string>()));
        op.create_micros = row[4].as<std::int64_t>();
        // An operation claimed but not answered yet holds no bytes: nothing to show or blank.
        if (!op.bytes.empty() && !op.result.ParseFromString(op.bytes)) {
            throw std::runtime_error("a stored sync operation result does not parse");
        }
        out.push_back(std::move(op));
    }
    return out;
}

common::SubjectExport ExportOperations(common::SubjectCall& call, const common::Subject& subject) {
    nlohmann::json records = nlohmann::json::array();
    for (const auto& op : Operations(call, subject)) {
        std::string result;
        if (!google::protobuf::util::MessageToJsonString(op.result, &result).ok()) {
            throw std::runtime_error("a stored sync operation result cannot be shown as JSON");
        }
        records.push_back({{"technician_id", op.technician_id},
                           {"idempotency_key", op.idempotency_key},
                           {"work_order_id", op.work_order_id},
                           {"create_time_micros", op.create_micros},
                           {"result", result.empty() ? nlohmann::json::object() : nlohmann::json::parse(result)}});
    }
    return {.count = static_cast<std::int64_t>(records.size()), .json = records.dump()};
}

common::SubjectErasure EraseOperations(common::SubjectCall& call, const common::Subject& subject) {
    common::SubjectErasure e;
    for (auto& op : Operations(call, subject)) {
        if (op.bytes.empty()) continue;
        Blank(op.result);
        std::string blanked;
        op.result.SerializeToString(&blanked);
        if (blanked == op.bytes) continue;  // erased before
        call.db.Exec(call.tx, sql::kRewriteSyncOperation, call.rc.tenant_id, op.technician_id, op.idempotency_key,
                     common::HexEncode(blanked));
        ++e.count;
    }
    return e;
}

}  // namespace

std::vector<common::SubjectHandler> Handlers() {
    std::vector<common::SubjectHandler> out;
    out.push_back({.resource_type = "work_order",
                   .resolve = nullptr,
                   .export_records = ExportWorkOrders,
                   .erase = [](common::SubjectCall& call, const common::Subject& s) {
                       const std::string contacts = common::ParamsOf(s).contact_ids;
                       common::SubjectErasure e;
                       e.aggregate_ids = WorkOrderIds(call, s);
                       call.db.Exec(call.tx, sql::kEraseHistoryReasons, call.rc.tenant_id, contacts);
                       e.count = static_cast<std::int64_t>(
                           call.db.Exec(call.tx, sql::kEraseWorkOrders, call.rc.tenant_id, contacts).size());
                       return e;
                   }});
    out.push_back(
        {.resource_type = "appointment",
         .resolve = nullptr,
         .export_records = [](common::SubjectCall& call,
                              const common::Subject& s) { return ExportOf(call, sql::kExportAppointments, s); },
         .erase =
             [](common::SubjectCall& call, const common::Subject& s) {
                 return common::SubjectErasure{
                     .count = static_cast<std::int64_t>(call.db
                                                            .Exec(call.tx, sql::kRoundAppointmentSites,
                                                                  call.rc.tenant_id, common::ParamsOf(s).contact_ids)
                                                            .affected_rows()),
                     .aggregate_ids = {}};
             }});
    out.push_back(
        {.resource_type = "reservation",
         .resolve = nullptr,
         .export_records = [](common::SubjectCall& call,
                              const common::Subject& s) { return ExportOf(call, sql::kExportReservations, s); },
         .erase = [](common::SubjectCall&, const common::Subject&) { return common::SubjectErasure{}; }});
    out.push_back({.resource_type = "sync_operation",
                   .resolve = nullptr,
                   .export_records = ExportOperations,
                   .erase = EraseOperations});
    return out;
}

}  // namespace crm::fieldservice::subject_data
