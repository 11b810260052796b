#pragma once
// The catalogue: products and the price book (one unit price per product and currency). The use cases of the
// catalogue RPCs, and what quotes need of a product inside their own transaction. Every use case runs one tenant
// transaction and writes its events to the outbox in it. Include only from the service's .cpp files: it pulls in
// pqxx and the generated protos.
#include <crm/sales/v1/sales.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"

namespace crm::sales::catalogue {

namespace v1 = crm::sales::v1;
using common::RequestContext;

// ---- use cases (input checked by the handlers; ids lowercased)

// ALREADY_EXISTS (DUPLICATE_SKU) when another product of the tenant has the sku.
v1::Product CreateProduct(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Product& in,
                          const std::string& request_id);
v1::Product GetProduct(common::Db& db, const RequestContext& rc, const std::string& id);
common::Page<v1::Product> ListProducts(common::Db& db, const RequestContext& rc, bool active_only, int page_size,
                                       const std::string& page_token);
v1::Product UpdateProduct(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Product& in,
                          const std::vector<std::string>& paths, const std::string& etag);
// Sets the product's price in the entry's currency; PriceBookEntrySet (aggregate: the product) when it changed.
v1::PriceBookEntry SetPrice(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                            const v1::PriceBookEntry& entry);
common::Page<v1::PriceBookEntry> ListPrices(common::Db& db, const RequestContext& rc, const std::string& product_id,
                                            const std::string& currency, int page_size, const std::string& page_token);

// ---- for other areas, inside their transaction

std::optional<v1::Product> FindProduct(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                       const std::string& id);
// The product's unit price in minor units of `currency`, if the price book has one.
std::optional<std::int64_t> FindPrice(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                      const std::string& product_id, const std::string& currency);

}  // namespace crm::sales::catalogue
