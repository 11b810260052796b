#pragma once
// Parts inventory: the catalogue, stock locations, stock levels per location and part, reservations for work orders,
// consumption at completion, transfers. Stock never goes below zero nor below what is reserved (each change is one
// UPDATE with the rule in its WHERE clause, serialised on the level's row lock; a CHECK constraint backs it). When a
// change makes the available quantity fall below the reorder point, StockBelowReorderPoint is written in the same
// transaction. Include only from the service's .cpp files: it pulls in pqxx and the generated protos.
#include <crm/fieldservice/v1/fieldservice.pb.h>

#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "records.hpp"

namespace crm::fieldservice::parts {

namespace v1 = crm::fieldservice::v1;
using common::RequestContext;

v1::Part CreatePart(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Part& in,
                    const std::string& request_id);
v1::Part GetPart(common::Db& db, const RequestContext& rc, const std::string& id);
common::Page<v1::Part> ListParts(common::Db& db, const RequestContext& rc, int page_size,
                                 const std::string& page_token);
v1::StockLocation CreateLocation(common::Db& db, const RequestContext& rc, const v1::StockLocation& in,
                                 const std::string& request_id);
common::Page<v1::StockLocation> ListLocations(common::Db& db, const RequestContext& rc, int page_size,
                                              const std::string& page_token);
v1::StockLevel Adjust(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                      const v1::AdjustStockRequest& req, FieldServiceMetrics& metrics);
v1::TransferStockResponse Transfer(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                   const v1::TransferStockRequest& req, FieldServiceMetrics& metrics);
v1::ReservePartResponse Reserve(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                const v1::ReservePartRequest& req, FieldServiceMetrics& metrics);
common::Page<v1::StockLevel> ListLevels(common::Db& db, const RequestContext& rc, const std::string& location_id,
                                        const std::string& part_id, int page_size, const std::string& page_token);

// ---- for other areas, inside their transaction

// The catalogue entries of `ids` (unknown ids left out), by SKU.
std::vector<v1::Part> PartsOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                              const std::vector<std::string>& ids);
// The held reservations of the work orders, oldest first.
std::vector<v1::Reservation> HeldFor(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                     const std::vector<std::string>& work_order_ids);
// Gives back every held reservation of the work order (cancelled).
void ReleaseReservations(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
                         const std::string& work_order_id, FieldServiceMetrics& metrics);
// Completion: the work order's held reservations are settled and the parts used taken from their locations (a
// reservation of the same part and location covers its quantity first; more comes from the available stock, less
// gives the rest back). FAILED_PRECONDITION INSUFFICIENT_STOCK when a location lacks what was used.
void Consume(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const RequestContext& rc,
             const std::string& work_order_id, const std::vector<v1::PartUsage>& used, FieldServiceMetrics& metrics);

}  // namespace crm::fieldservice::parts
