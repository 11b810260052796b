// Mobile sync (see mobile.hpp).
#include <google/protobuf/util/field_mask_util.h>
#include <prometheus/counter.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

#include "crm/common/civil_date.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/common/timezone.hpp"
#include "mobile/mobile.hpp"
#include "mobile/sql.hpp"
#include "parts/parts.hpp"
#include "sealed.hpp"
#include "technicians/technicians.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice::mobile {
namespace {

using common::ApiError;
constexpr std::int64_t kDay = 86400;

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string DateText(const common::CivilDate& d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(d.year), d.month, d.day);
    return buf;
}

// The token is bound to the tenant (by the kit) and to the technician (by the scope).
std::string TokenScope(const std::string& technician_id) { return "SyncTechnicianDay/" + technician_id; }

struct Since {
    bool present = false;
    std::string horizon = "0";  // xid8: rows written by this transaction or later are sent
    std::string first_date;     // the technician's local "today" when the token was issued
    std::int64_t issued = 0;    // Unix seconds
};

Since DecodeSince(const std::string& token, const std::string& tenant, const std::string& technician_id) {
    Since out;
    if (token.empty()) return out;
    std::vector<std::string> keys;
    try {
        keys = common::DecodePageToken(token, tenant, TokenScope(technician_id), 3);
    } catch (const ApiError& e) {
        if (e.code() != grpc::StatusCode::INVALID_ARGUMENT) throw;
        throw ApiError::InvalidArgument("since_token",
                                        "is not a token of this technician's sync: pass back next_token unchanged");
    }
    out.present = true;
    out.horizon = keys[0];
    out.first_date = keys[1];
    const auto [end, ec] = std::from_chars(keys[2].data(), keys[2].data() + keys[2].size(), out.issued);
    if (ec != std::errc() || end != keys[2].data() + keys[2].size()) throw std::runtime_error("sync token unreadable");
    return out;
}

// What the device gets of a work order: never the signature (it made it or does not need it).
v1::WorkOrder ForDevice(v1::WorkOrder wo) {
    if (wo.has_completion()) wo.mutable_completion()->clear_signature();
    return wo;
}

v1::WorkOrder Trim(v1::WorkOrder wo, const google::protobuf::FieldMask& mask) {
    wo = ForDevice(std::move(wo));
    if (mask.paths_size() == 0) return wo;
    const std::string id = wo.id(), etag = wo.etag();
    const std::int64_t version = wo.version();
    google::protobuf::util::FieldMaskUtil::TrimMessage(mask, &wo);
    wo.set_id(id);
    wo.set_etag(etag);
    wo.set_version(version);
    return wo;
}

// The etag a batch produced on a job from the device's base etag: later operations with the same base build on it.
struct Chain {
    std::string base;
    std::string produced;
    std::int64_t version = 0;  // of `produced`
};

v1::SyncOperationResult Refuse(v1::SyncOperationResult result, std::string reason, std::string message) {
    result.set_outcome(v1::SYNC_OUTCOME_REJECTED);
    result.set_reason(std::move(reason));
    result.set_message(std::move(message));
    return result;
}

// The operation on the job (claimed already), inside tx.
v1::SyncOperationResult Decide(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const RequestContext& rc,
                               const v1::Technician& tech, const v1::SyncOperation& op,
                               std::map<std::string, Chain>& chains, FieldServiceMetrics& metrics) {
    const std::string& t = rc.tenant_id;
    const std::string& id = op.work_order_id();
    v1::SyncOperationResult result;
    result.set_idempotency_key(op.idempotency_key());
    result.set_work_order_id(id);
    if (workorders::TechnicianOf(db, tx, t, id) != tech.id()) {
        return Refuse(result, "NOT_FOUND", "no work order " + id + " is booked for the technician");
    }
    const v1::WorkOrder current = workorders::Load(db, tx, t, id, true);
    *result.mutable_work_order() = ForDevice(current);
    const auto chain = chains.find(id);
    const bool chained =
        chain != chains.end() && chain->second.base == op.base_etag() && chain->second.produced == current.etag();
    if (op.base_etag() != current.etag() && !chained) {
        result.set_outcome(v1::SYNC_OUTCOME_CONFLICT);
        result.set_message("the job changed on the server since " + op.base_etag() + " (now " + current.etag() +
                           "): not applied");
        return result;
    }
    const std::int64_t at =
        Micros(op.has_status_change() ? op.status_change().change_time() : op.completion().complete_time());
    std::int64_t dispatched = workorders::EnteredAt(current, v1::WORK_ORDER_STATUS_DISPATCHED);
    if (dispatched == 0) dispatched = workorders::EnteredAt(current, v1::WORK_ORDER_STATUS_SCHEDULED);
    if (at < dispatched) {
        return Refuse(result, "BEFORE_DISPATCH", "the change is dated before the job was dispatched to the technician");
    }
    pqxx::subtransaction sub(tx, "sync_operation");
    try {
        v1::WorkOrder after;
        if (op.has_status_change()) {
            v1::ChangeWorkOrderStatusRequest change;
            change.set_id(id);
            change.set_status(op.status_change().status());
            change.set_reason(op.status_change().reason());
            after = workorders::ChangeStatusIn(db, outbox, sub, rc, current, change, at, metrics);
        } else {
            v1::CompleteWorkOrderRequest complete;
            complete.set_id(id);
            *complete.mutable_completion() = op.completion().completion();
            after = workorders::CompleteIn(db, outbox, sub, rc, current, complete, at, metrics);
        }
        sub.commit();
        result.set_outcome(v1::SYNC_OUTCOME_APPLIED);
        *result.mutable_work_order() = ForDevice(after);
        chains[id] = Chain{chained ? chain->second.base : op.base_etag(), after.etag(), after.version()};
    } catch (const ApiError& e) {
        sub.abort();
        // What the transaction learned inside the savepoint (e.g. a subject key it created) was rolled back with it.
        if (auto* memo = common::detail::TxMemo::Current()) memo->values.clear();
        return Refuse(result, e.reason().empty() ? common::StatusCodeName(e.code()) : e.reason(), e.what());
    }
    return result;
}

// One operation in its own transaction: the claim of its key, the change, its result stored with the claim.
v1::SyncOperationResult Apply(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                              const v1::Technician& tech, const v1::SyncOperation& op,
                              std::map<std::string, Chain>& chains, FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        if (db.Exec(tx, sql::kClaimOperation, t, tech.id(), op.idempotency_key(), op.work_order_id()).empty()) {
            const pqxx::result first = db.Exec(tx, sql::kOperationResult, t, tech.id(), op.idempotency_key());
            if (first.empty()) {
                throw ApiError::Aborted("a concurrent sync with the same idempotency key did not finish; retry",
                                        "RETRY");
            }
            v1::SyncOperationResult result;
            result.set_idempotency_key(op.idempotency_key());
            result.set_work_order_id(op.work_order_id());
            result.set_outcome(v1::SYNC_OUTCOME_DUPLICATE);
            const std::string stored = common::ColumnKey(t, first[0][1].as<std::string>(), first[0][2])
                                           .Open(sealed::kSyncResult, common::HexDecode(first[0][0].as<std::string>()));
            if (!result.mutable_first_result()->ParseFromString(stored)) {
                throw std::runtime_error("stored sync result unreadable");
            }
            return result;
        }
        v1::SyncOperationResult result = Decide(db, outbox, tx, rc, tech, op, chains, metrics);
        // The result carries the work order (title, address, notes): sealed whole under the work order's key.
        common::ColumnSealer sealer(db, tx, t);
        db.Exec(tx, sql::kRecordOperation, t, tech.id(), op.idempotency_key(),
                common::HexEncode(sealer.Seal(op.work_order_id(), sealed::kSyncResult, result.SerializeAsString())));
        return result;
    });
}

}  // namespace

v1::SyncTechnicianDayResponse Sync(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                   const v1::SyncTechnicianDayRequest& req, FieldServiceMetrics& metrics) {
    const std::string& t = rc.tenant_id;
    const v1::Technician tech = db.InTenant(rc, [&](pqxx::work& tx) {
        v1::Technician found = technicians::Load(db, tx, t, req.technician_id());
        technicians::RequireOwn(rc, found);
        return found;
    });
    const Since since = DecodeSince(req.since_token(), t, tech.id());
    const auto zone = technicians::CalendarOf(tech).zone;

    v1::SyncTechnicianDayResponse out;
    std::map<std::string, Chain> chains;
    for (const auto& op : req.operations()) {
        v1::SyncOperationResult r = Apply(db, outbox, rc, tech, op, chains, metrics);
        // A resent operation that was applied (the device missed the answer): later new operations with the same
        // base build on the newest result.
        if (r.outcome() == v1::SYNC_OUTCOME_DUPLICATE && r.first_result().outcome() == v1::SYNC_OUTCOME_APPLIED) {
            const v1::WorkOrder& first = r.first_result().work_order();
            const auto chain = chains.find(op.work_order_id());
            if (chain == chains.end()) {
                chains[op.work_order_id()] = Chain{op.base_etag(), first.etag(), first.version()};
            } else if (chain->second.base == op.base_etag() && first.version() > chain->second.version) {
                chain->second.produced = first.etag();
                chain->second.version = first.version();
            }
        }
        switch (r.outcome()) {
            case v1::SYNC_OUTCOME_APPLIED:
                metrics.sync_applied.Increment();
                break;
            case v1::SYNC_OUTCOME_CONFLICT:
                metrics.sync_conflicts.Increment();
                break;
            case v1::SYNC_OUTCOME_DUPLICATE:
                metrics.sync_duplicates.Increment();
                break;
            default:
                metrics.sync_rejected.Increment();
        }
        *out.add_results() = std::move(r);
    }

    // Today and tomorrow on the technician's wall clock.
    const std::int64_t now = NowMicros() / 1000000;
    const std::int64_t today = FloorDiv(zone->ToLocal(now), kDay);
    const common::CivilDate first = common::CivilFromDays(today), last = common::CivilFromDays(today + 1);
    const std::int64_t from = zone->ToUtc(first, 0), to = zone->ToUtc(common::CivilFromDays(today + 2), 0);
    const std::string first_text = DateText(first);
    const bool full = !since.present || since.first_date != first_text || since.issued < now - kTokenLifetimeSeconds;
    const std::string horizon = full ? "0" : since.horizon;

    db.InTenant(rc, [&](pqxx::work& tx) {
        const auto lifetime = static_cast<double>(kTokenLifetimeSeconds);
        db.Exec(tx, sql::kPurgeTombstones, t, tech.id(), lifetime);
        db.Exec(tx, sql::kPurgeOperations, t, tech.id(), lifetime);
        // Taken before the reads below: whatever they miss was written by a transaction at or above it.
        const std::string next_horizon = db.Exec(tx, sql::kSyncHorizon)[0][0].as<std::string>();
        std::vector<std::string> in_days, changed;
        for (const auto& r : db.Exec(tx, sql::kSyncJobsOfDays, t, tech.id(), from * 1000000, to * 1000000, horizon)) {
            const std::string id = r[0].as<std::string>();
            if (std::find(in_days.begin(), in_days.end(), id) != in_days.end()) continue;
            in_days.push_back(id);
            if (full || r[1].as<bool>()) changed.push_back(id);
        }
        if (!full) {
            std::set<std::string> gone;
            for (const auto& r : db.Exec(tx, sql::kSyncChangedOfTechnician, t, tech.id(), horizon)) {
                gone.insert(r[0].as<std::string>());
            }
            for (const auto& r : db.Exec(tx, sql::kSyncTombstones, t, tech.id(), horizon)) {
                gone.insert(r[0].as<std::string>());
            }
            for (const auto& id : in_days) gone.erase(id);
            for (const auto& id : gone) out.add_removed_work_order_ids(id);
        }
        std::map<std::string, v1::WorkOrder> loaded;
        for (auto& wo : workorders::LoadMany(db, tx, t, changed)) loaded.emplace(wo.id(), std::move(wo));
        const std::vector<v1::Reservation> held = parts::HeldFor(db, tx, t, changed);
        std::set<std::string> part_ids;
        for (const auto& id : changed) {  // in appointment order
            const auto it = loaded.find(id);
            if (it == loaded.end()) continue;
            for (const auto& need : it->second.parts_needed()) part_ids.insert(need.part_id());
            v1::SyncedJob* job = out.add_jobs();
            *job->mutable_work_order() = Trim(it->second, req.read_mask());
            for (const auto& r : held) {
                if (r.work_order_id() != id) continue;
                *job->add_reservations() = r;
                part_ids.insert(r.part_id());
            }
        }
        const std::vector<std::string> parts_of_jobs(part_ids.begin(), part_ids.end());
        for (auto& p : parts::PartsOf(db, tx, t, parts_of_jobs)) *out.add_parts() = std::move(p);
        out.set_next_token(
            common::EncodePageToken(t, TokenScope(tech.id()), {next_horizon, first_text, std::to_string(now)}));
    });
    out.set_full(full);
    out.set_first_date(first_text);
    out.set_last_date(DateText(last));
    return out;
}

}  // namespace crm::fieldservice::mobile
