#pragma once
// Work orders: the use cases of the work-order RPCs (create, read, list, update, status changes, completion), and
// what the scheduling area needs inside its transaction (load, visibility, a status transition with its history row).
// Include only from the service's .cpp files: it pulls in pqxx and the generated protos.
#include <crm/fieldservice/v1/fieldservice.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "domain/geo.hpp"
#include "domain/status.hpp"
#include "records.hpp"

namespace crm::fieldservice::workorders {

namespace v1 = crm::fieldservice::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers; ids lowercased)

v1::WorkOrder Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::WorkOrder& in,
                     const std::string& request_id);
// A technician-only caller sees only the work orders booked for them (another is NOT_FOUND).
v1::WorkOrder Get(common::Db& db, const RequestContext& rc, const std::string& id);
// For a technician-only caller the technician filter is always their own.
common::Page<v1::WorkOrder> List(common::Db& db, const RequestContext& rc, v1::WorkOrderStatus status,
                                 const std::string& technician_id, int page_size, const std::string& page_token);
v1::WorkOrder Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::WorkOrder& in,
                     const std::vector<std::string>& paths, const std::string& etag);
// req.status one of ChangeWorkOrderStatus's targets; change_time (micros) already defaulted to now and checked not
// to lie in the future. Cancelling frees the appointment and releases the part reservations.
v1::WorkOrder ChangeStatus(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                           const v1::ChangeWorkOrderStatusRequest& req, std::int64_t change_micros,
                           FieldServiceMetrics& metrics);
// ON_SITE → COMPLETED: answers, notes, signature, parts used (consumed); WorkOrderCompleted.
v1::WorkOrder Complete(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                       const v1::CompleteWorkOrderRequest& req, std::int64_t complete_micros,
                       FieldServiceMetrics& metrics);

// ---- for other areas, inside their transaction

// Inserts a (checked) work order with id `id` and writes WorkOrderCreated (the cases area: a work order from a case
// event, without a site).
v1::WorkOrder CreateIn(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                       const std::string& id, const v1::WorkOrder& in);
// Whether any work order (any status) names the support case.
bool CaseHasWorkOrder(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                      const std::string& case_id);

// ChangeStatus and Complete inside the caller's transaction, on `current` read FOR UPDATE whose visibility and etag
// the caller checked: the rules, the change, its event.
v1::WorkOrder ChangeStatusIn(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                             const RequestContext& rc, const v1::WorkOrder& current,
                             const v1::ChangeWorkOrderStatusRequest& req, std::int64_t change_micros,
                             FieldServiceMetrics& metrics);
v1::WorkOrder CompleteIn(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                         const v1::WorkOrder& current, const v1::CompleteWorkOrderRequest& req,
                         std::int64_t complete_micros, FieldServiceMetrics& metrics);
// The technician the work order is (or, cancelled, was last) booked for; "" when none or no such work order.
std::string TechnicianOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id);
// When the work order last entered `status` (micros), or 0.
std::int64_t EnteredAt(const v1::WorkOrder& wo, v1::WorkOrderStatus status);
// Work orders as lists read them (without the signature), by id; missing ids are left out.
std::vector<v1::WorkOrder> LoadMany(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                    const std::vector<std::string>& ids);

v1::WorkOrder Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                   bool for_update = false);
// NOT_FOUND for a technician-only caller unless the work order is (or, cancelled, was) booked for them.
void RequireVisible(common::Db& db, pqxx::transaction_base& tx, const RequestContext& rc, const v1::WorkOrder& wo);
// Writes `to` (with reason, at `at_micros`, by the caller) over `current` (read FOR UPDATE), the history row, and
// sets the technician (`technician`: "" keeps it, nullopt clears it). Returns the stored work order; the caller emits.
v1::WorkOrder Transition(common::Db& db, pqxx::transaction_base& tx, const RequestContext& rc,
                         const v1::WorkOrder& current, domain::Status to, std::int64_t at_micros,
                         const std::string& reason, const std::optional<std::string>& technician);
// A work order whose booking moved (reschedule), now with `technician_id`: its version bumped; returns it stored.
v1::WorkOrder Touch(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const v1::WorkOrder& current,
                    const std::string& technician_id);

domain::Point SiteOf(const v1::WorkOrder& wo);

// Seals the notes and checklist answers of the completions stored in clear before migration 0007, tenant by tenant
// in batches of 500 (the kit's backfill does this for whole columns, not for values inside a jsonb); returns how many
// work orders it sealed. Registered with AddColumnBackfill (register.cpp).
std::int64_t BackfillCompletions(common::Db& db);

}  // namespace crm::fieldservice::workorders
