// Parts inventory (see parts.hpp).
#include "parts/parts.hpp"

#include <crm/fieldservice/events/v1/events.pb.h>
#include <prometheus/counter.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "parts/sql.hpp"
#include "workorders/workorders.hpp"

namespace crm::fieldservice::parts {
namespace {

namespace ev = crm::fieldservice::events::v1;
using common::ApiError;
using nlohmann::json;

v1::Part ReadPart(const pqxx::row& r) {
    v1::Part p;
    p.set_id(r[0].as<std::string>());
    p.set_sku(r[1].as<std::string>());
    p.set_name(r[2].as<std::string>());
    p.set_product_id(r[3].as<std::string>());
    SetTime(p.mutable_create_time(), r[4]);
    return p;
}

v1::StockLocation ReadLocation(const pqxx::row& r) {
    v1::StockLocation l;
    l.set_id(r[0].as<std::string>());
    l.set_name(r[1].as<std::string>());
    l.set_kind(r[2].as<std::string>() == "VAN" ? v1::LOCATION_KIND_VAN : v1::LOCATION_KIND_WAREHOUSE);
    SetTime(l.mutable_create_time(), r[3]);
    return l;
}

struct Level {
    v1::StockLevel level;
    std::int64_t version = 0;
};

Level ReadLevel(const pqxx::row& r) {
    Level l;
    l.level.set_location_id(r[0].as<std::string>());
    l.level.set_part_id(r[1].as<std::string>());
    l.level.set_on_hand(r[2].as<std::int64_t>());
    l.level.set_reserved(r[3].as<std::int64_t>());
    l.level.set_available(l.level.on_hand() - l.level.reserved());
    l.level.set_reorder_point(r[4].as<std::int64_t>());
    l.version = r[5].as<std::int64_t>();
    return l;
}

bool Below(const v1::StockLevel& l) { return l.reorder_point() > 0 && l.available() < l.reorder_point(); }

std::optional<Level> Lock(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                          const std::string& location, const std::string& part) {
    const pqxx::result rows = db.Exec(tx, sql::kGetLevelForUpdate, tenant, location, part);
    if (rows.empty()) return std::nullopt;
    return ReadLevel(rows[0]);
}

// NOT_FOUND for a missing location or part, else FAILED_PRECONDITION INSUFFICIENT_STOCK.
[[noreturn]] void Insufficient(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                               const std::string& location, const std::string& part, std::int64_t available) {
    if (db.Exec(tx, sql::kGetLocation, tenant, location).empty()) throw ApiError::NotFound("stock location", location);
    if (db.Exec(tx, sql::kGetPart, tenant, part).empty()) throw ApiError::NotFound("part", part);
    throw ApiError::FailedPrecondition("not enough stock of the part at the location", "INSUFFICIENT_STOCK")
        .With("available", std::to_string(available));
}

// Runs one stock statement on a locked level; writes StockBelowReorderPoint when the change crossed the point.
v1::StockLevel Change(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                      const std::optional<Level>& before, const pqxx::result& rows, const std::string& location,
                      const std::string& part, FieldServiceMetrics& metrics) {
    if (rows.empty()) Insufficient(db, tx, rc.tenant_id, location, part, before ? before->level.available() : 0);
    const Level after = ReadLevel(rows[0]);
    if (Below(after.level) && !(before && Below(before->level))) {
        ev::StockBelowReorderPoint event;
        *event.mutable_level() = after.level;
        Emit(outbox, tx, rc, "stock_level", part, after.version, event, FromMicros(NowMicros()));
        metrics.reorder_alerts.Increment();
    }
    return after.level;
}

// on_hand += delta (either sign), optionally setting the reorder point.
v1::StockLevel AddOnHand(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                         const std::string& location, const std::string& part, std::int64_t delta, bool set_point,
                         std::int64_t point, FieldServiceMetrics& metrics) {
    const auto before = Lock(db, tx, rc.tenant_id, location, part);
    if (delta >= 0) {
        if (!before) {
            if (db.Exec(tx, sql::kGetLocation, rc.tenant_id, location).empty()) {
                throw ApiError::NotFound("stock location", location);
            }
            if (db.Exec(tx, sql::kGetPart, rc.tenant_id, part).empty()) throw ApiError::NotFound("part", part);
        }
        return Change(db, outbox, tx, rc, before,
                      db.Exec(tx, sql::kReceiveStock, rc.tenant_id, location, part, delta, set_point, point), location,
                      part, metrics);
    }
    return Change(db, outbox, tx, rc, before,
                  db.Exec(tx, sql::kRemoveStock, rc.tenant_id, location, part, -delta, set_point, point), location,
                  part, metrics);
}

v1::StockLevel CurrentLevel(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                            const std::string& location, const std::string& part) {
    const pqxx::result rows = db.Exec(tx, sql::kGetLevel, tenant, location, part);
    if (rows.empty()) {
        v1::StockLevel empty;
        empty.set_location_id(location);
        empty.set_part_id(part);
        return empty;
    }
    return ReadLevel(rows[0]).level;
}

}  // namespace

v1::Part CreatePart(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Part& in,
                    const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, rc.tenant_id, "CreatePart", request_id, id)) {
            return ReadPart(db.Exec(tx, sql::kGetPart, rc.tenant_id, *first).at(0));
        }
        if (db.Exec(tx, sql::kInsertPart, rc.tenant_id, id, in.sku(), in.name(), common::NullIfEmpty(in.product_id()))
                .empty()) {
            throw ApiError::AlreadyExists("a part with this SKU exists", "DUPLICATE_SKU");
        }
        v1::Part created = ReadPart(db.Exec(tx, sql::kGetPart, rc.tenant_id, id).at(0));
        ev::PartCreated event;
        *event.mutable_part() = created;
        Emit(outbox, tx, rc, "part", id, 1, event, created.create_time());
        return created;
    });
}

v1::Part GetPart(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db.Exec(tx, sql::kGetPart, rc.tenant_id, id);
        if (rows.empty()) throw ApiError::NotFound("part", id);
        return ReadPart(rows[0]);
    });
}

common::Page<v1::Part> ListParts(common::Db& db, const RequestContext& rc, int page_size,
                                 const std::string& page_token) {
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, "ListParts", common::SortOrder::kAscending);
    std::vector<v1::Part> items = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Part> out;
        for (const auto& r : db.Exec(tx, sql::kListParts, rc.tenant_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadPart(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Part& p) {
        return common::EncodeTimeIdToken(rc.tenant_id, "ListParts", {Micros(p.create_time()), p.id()});
    });
}

v1::StockLocation CreateLocation(common::Db& db, const RequestContext& rc, const v1::StockLocation& in,
                                 const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, rc.tenant_id, "CreateStockLocation", request_id, id)) {
            id = *first;
        } else {
            db.Exec(tx, sql::kInsertLocation, rc.tenant_id, id, in.name(),
                    in.kind() == v1::LOCATION_KIND_VAN ? "VAN" : "WAREHOUSE");
        }
        return ReadLocation(db.Exec(tx, sql::kGetLocation, rc.tenant_id, id).at(0));
    });
}

common::Page<v1::StockLocation> ListLocations(common::Db& db, const RequestContext& rc, int page_size,
                                              const std::string& page_token) {
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, "ListStockLocations", common::SortOrder::kAscending);
    std::vector<v1::StockLocation> items = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::StockLocation> out;
        for (const auto& r : db.Exec(tx, sql::kListLocations, rc.tenant_id, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadLocation(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::StockLocation& l) {
        return common::EncodeTimeIdToken(rc.tenant_id, "ListStockLocations", {Micros(l.create_time()), l.id()});
    });
}

v1::StockLevel Adjust(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                      const v1::AdjustStockRequest& req, FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        if (common::ClaimRequest(db, tx, rc.tenant_id, "AdjustStock", req.request_id(), common::NewUuid())) {
            return CurrentLevel(db, tx, rc.tenant_id, req.location_id(), req.part_id());
        }
        return AddOnHand(db, outbox, tx, rc, req.location_id(), req.part_id(), req.quantity_delta(),
                         req.has_reorder_point(), req.reorder_point(), metrics);
    });
}

v1::TransferStockResponse Transfer(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                   const v1::TransferStockRequest& req, FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        v1::TransferStockResponse out;
        const std::string& from = req.from_location_id();
        const std::string& to = req.to_location_id();
        if (common::ClaimRequest(db, tx, rc.tenant_id, "TransferStock", req.request_id(), common::NewUuid())) {
            *out.mutable_from_level() = CurrentLevel(db, tx, rc.tenant_id, from, req.part_id());
            *out.mutable_to_level() = CurrentLevel(db, tx, rc.tenant_id, to, req.part_id());
            return out;
        }
        // Both rows locked in one order (location id), so that opposite transfers cannot deadlock.
        if (from < to) {
            *out.mutable_from_level() =
                AddOnHand(db, outbox, tx, rc, from, req.part_id(), -req.quantity(), false, 0, metrics);
            *out.mutable_to_level() =
                AddOnHand(db, outbox, tx, rc, to, req.part_id(), req.quantity(), false, 0, metrics);
        } else {
            *out.mutable_to_level() =
                AddOnHand(db, outbox, tx, rc, to, req.part_id(), req.quantity(), false, 0, metrics);
            *out.mutable_from_level() =
                AddOnHand(db, outbox, tx, rc, from, req.part_id(), -req.quantity(), false, 0, metrics);
        }
        return out;
    });
}

v1::ReservePartResponse Reserve(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                const v1::ReservePartRequest& req, FieldServiceMetrics& metrics) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        v1::ReservePartResponse out;
        std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, t, "ReservePart", req.request_id(), id)) {
            const pqxx::row r = db.Exec(tx, sql::kGetReservation, t, *first).at(0);
            auto* res = out.mutable_reservation();
            res->set_id(r[0].as<std::string>());
            res->set_work_order_id(r[1].as<std::string>());
            res->set_part_id(r[2].as<std::string>());
            res->set_location_id(r[3].as<std::string>());
            res->set_quantity(r[4].as<std::int64_t>());
            *out.mutable_level() = CurrentLevel(db, tx, t, res->location_id(), res->part_id());
            return out;
        }
        const v1::WorkOrder wo = workorders::Load(db, tx, t, req.work_order_id());
        if (domain::IsFinished(static_cast<domain::Status>(wo.status()))) {
            throw ApiError::FailedPrecondition("the work order is finished", "WORK_ORDER_FINISHED");
        }
        const auto before = Lock(db, tx, t, req.location_id(), req.part_id());
        *out.mutable_level() =
            Change(db, outbox, tx, rc, before,
                   db.Exec(tx, sql::kReserveStock, t, req.location_id(), req.part_id(), req.quantity()),
                   req.location_id(), req.part_id(), metrics);
        db.Exec(tx, sql::kInsertReservation, t, id, req.work_order_id(), req.location_id(), req.part_id(),
                req.quantity());
        auto* res = out.mutable_reservation();
        res->set_id(id);
        res->set_work_order_id(req.work_order_id());
        res->set_part_id(req.part_id());
        res->set_location_id(req.location_id());
        res->set_quantity(req.quantity());
        return out;
    });
}

common::Page<v1::StockLevel> ListLevels(common::Db& db, const RequestContext& rc, const std::string& location_id,
                                        const std::string& part_id, int page_size, const std::string& page_token) {
    const std::string scope = json{"ListStockLevels", location_id, part_id}.dump();
    std::vector<std::string> key = common::DecodePageToken(page_token, rc.tenant_id, scope, 2);
    if (key.empty()) key = {"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"};
    std::vector<v1::StockLevel> items = db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        pqxx::result rows;
        if (location_id.empty() && part_id.empty()) {
            rows = db.Exec(tx, sql::kListLevels, t, key[0], key[1], page_size + 1);
        } else if (part_id.empty()) {
            rows = db.Exec(tx, sql::kListLevelsOfLocation, t, key[0], key[1], page_size + 1, location_id);
        } else if (location_id.empty()) {
            rows = db.Exec(tx, sql::kListLevelsOfPart, t, key[0], key[1], page_size + 1, part_id);
        } else {
            rows = db.Exec(tx, sql::kListLevelsOfBoth, t, key[0], key[1], page_size + 1, location_id, part_id);
        }
        std::vector<v1::StockLevel> out;
        for (const auto& r : rows) out.push_back(ReadLevel(r).level);
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::StockLevel& l) {
        return common::EncodePageToken(rc.tenant_id, scope, {l.location_id(), l.part_id()});
    });
}

std::vector<v1::Part> PartsOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::vector<std::string>& ids) {
    std::vector<v1::Part> out;
    if (ids.empty()) return out;
    for (const auto& r : db.Exec(tx, sql::kGetParts, tenant, UuidArray(ids))) out.push_back(ReadPart(r));
    return out;
}

std::vector<v1::Reservation> HeldFor(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                     const std::vector<std::string>& work_order_ids) {
    std::vector<v1::Reservation> out;
    if (work_order_ids.empty()) return out;
    for (const auto& r : db.Exec(tx, sql::kHeldReservations, tenant, UuidArray(work_order_ids))) {
        v1::Reservation res;
        res.set_id(r[0].as<std::string>());
        res.set_work_order_id(r[1].as<std::string>());
        res.set_part_id(r[2].as<std::string>());
        res.set_location_id(r[3].as<std::string>());
        res.set_quantity(r[4].as<std::int64_t>());
        out.push_back(std::move(res));
    }
    return out;
}

void ReleaseReservations(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                         const std::string& work_order_id, FieldServiceMetrics& metrics) {
    std::map<std::pair<std::string, std::string>, std::int64_t> held;
    for (const auto& r : db.Exec(tx, sql::kCloseReservations, rc.tenant_id, work_order_id, "RELEASED")) {
        held[{r[0].as<std::string>(), r[1].as<std::string>()}] += r[2].as<std::int64_t>();
    }
    for (const auto& [key, quantity] : held) {
        const auto before = Lock(db, tx, rc.tenant_id, key.first, key.second);
        Change(db, outbox, tx, rc, before,
               db.Exec(tx, sql::kSettleStock, rc.tenant_id, key.first, key.second, quantity, 0), key.first, key.second,
               metrics);
    }
}

void Consume(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
             const std::string& work_order_id, const std::vector<v1::PartUsage>& used, FieldServiceMetrics& metrics) {
    // (location, part) -> {reserved for the work order, used}; a map keeps one lock order.
    std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::int64_t>> settle;
    for (const auto& r : db.Exec(tx, sql::kCloseReservations, rc.tenant_id, work_order_id, "CONSUMED")) {
        settle[{r[0].as<std::string>(), r[1].as<std::string>()}].first += r[2].as<std::int64_t>();
    }
    for (const auto& u : used) settle[{u.location_id(), u.part_id()}].second += u.quantity();
    for (const auto& [key, amounts] : settle) {
        const auto before = Lock(db, tx, rc.tenant_id, key.first, key.second);
        Change(db, outbox, tx, rc, before,
               db.Exec(tx, sql::kSettleStock, rc.tenant_id, key.first, key.second, amounts.first, amounts.second),
               key.first, key.second, metrics);
    }
}

}  // namespace crm::fieldservice::parts
