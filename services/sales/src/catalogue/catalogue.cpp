// Products and the price book (see catalogue.hpp).
#include "catalogue/catalogue.hpp"

#include <crm/sales/events/v1/events.pb.h>

#include <nlohmann/json.hpp>

#include "catalogue/sql.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "records.hpp"

namespace crm::sales::catalogue {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;

// A row of CRM_PRODUCT_COLUMNS (catalogue/sql.hpp).
v1::Product ReadProduct(const pqxx::row& r) {
    v1::Product p;
    p.set_id(r[0].as<std::string>());
    p.set_name(r[1].as<std::string>());
    p.set_sku(r[2].as<std::string>());
    p.set_description(r[3].as<std::string>());
    p.set_active(r[4].as<bool>());
    SetTime(p.mutable_create_time(), r[5]);
    SetTime(p.mutable_update_time(), r[6]);
    p.set_version(r[7].as<std::int64_t>());
    p.set_etag(common::MakeEtag(p.version()));
    return p;
}

v1::Product LoadProduct(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                        bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetProductForUpdate : sql::kGetProduct, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("product", id);
    return ReadProduct(rows[0]);
}

// A row of CRM_ENTRY_COLUMNS (catalogue/sql.hpp).
v1::PriceBookEntry ReadEntry(const pqxx::row& r) {
    v1::PriceBookEntry e;
    e.set_product_id(r[0].as<std::string>());
    SetMoney(e.mutable_unit_price(), r[2].as<std::int64_t>(), r[1].as<std::string>());
    SetTime(e.mutable_update_time(), r[3]);
    return e;
}

// Runs a product write; the unique index on (tenant, sku) refusing it is a duplicate sku.
template <class F>
v1::Product WithUniqueSku(F&& write) {
    try {
        return write();
    } catch (const pqxx::unique_violation&) {
        throw ApiError::AlreadyExists("another product of the tenant has this sku", "DUPLICATE_SKU");
    }
}

}  // namespace

std::optional<v1::Product> FindProduct(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                       const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetProduct, tenant, id);
    if (rows.empty()) return std::nullopt;
    return ReadProduct(rows[0]);
}

std::optional<std::int64_t> FindPrice(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                      const std::string& product_id, const std::string& currency) {
    const pqxx::result rows = db.Exec(tx, sql::kGetPriceBookEntry, tenant, product_id, currency);
    if (rows.empty()) return std::nullopt;
    return rows[0][2].as<std::int64_t>();
}

v1::Product CreateProduct(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Product& in,
                          const std::string& request_id) {
    return WithUniqueSku([&] {
        return db.InTenant(rc, [&](pqxx::work& tx) {
            const std::string id = common::NewUuid();
            if (auto first = common::ClaimRequest(db, tx, rc.tenant_id, "CreateProduct", request_id, id)) {
                return LoadProduct(db, tx, rc.tenant_id, *first);
            }
            db.Exec(tx, sql::kInsertProduct, rc.tenant_id, id, in.name(), in.sku(), in.description(), true);
            v1::Product created = LoadProduct(db, tx, rc.tenant_id, id);
            ev::ProductCreated event;
            *event.mutable_product() = created;
            Emit(outbox, tx, rc, "product", id, created.version(), event, created.create_time());
            return created;
        });
    });
}

v1::Product GetProduct(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return LoadProduct(db, tx, rc.tenant_id, id); });
}

common::Page<v1::Product> ListProducts(common::Db& db, const RequestContext& rc, bool active_only, int page_size,
                                       const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListProducts", active_only}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kAscending);
    std::vector<v1::Product> items = db.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Product> out;
        for (const auto& r :
             db.Exec(tx, sql::kListProducts, rc.tenant_id, active_only, after.micros, after.id, page_size + 1)) {
            out.push_back(ReadProduct(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Product& p) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(p.create_time()), p.id()});
    });
}

v1::Product UpdateProduct(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Product& in,
                          const std::vector<std::string>& paths, const std::string& etag) {
    return WithUniqueSku([&] {
        return db.InTenant(rc, [&](pqxx::work& tx) {
            const v1::Product current = LoadProduct(db, tx, rc.tenant_id, in.id(), true);
            common::CheckEtag(etag, current.version());
            v1::Product next = current;
            for (const auto& p : paths) {
                if (p == "name") next.set_name(in.name());
                if (p == "sku") next.set_sku(in.sku());
                if (p == "description") next.set_description(in.description());
                if (p == "active") next.set_active(in.active());
            }
            std::vector<std::string> changed;
            if (next.name() != current.name()) changed.push_back("name");
            if (next.sku() != current.sku()) changed.push_back("sku");
            if (next.description() != current.description()) changed.push_back("description");
            if (next.active() != current.active()) changed.push_back("active");
            if (changed.empty()) return current;
            db.Exec(tx, sql::kWriteProduct, rc.tenant_id, in.id(), next.name(), next.sku(), next.description(),
                    next.active());
            v1::Product updated = LoadProduct(db, tx, rc.tenant_id, in.id());
            ev::ProductUpdated event;
            *event.mutable_product() = updated;
            for (const auto& p : changed) event.add_changed_paths(p);
            Emit(outbox, tx, rc, "product", updated.id(), updated.version(), event, updated.update_time());
            return updated;
        });
    });
}

v1::PriceBookEntry SetPrice(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                            const v1::PriceBookEntry& in) {
    const std::string& product_id = in.product_id();
    const std::string& currency = in.unit_price().currency_code();
    const std::int64_t unit_price = in.unit_price().amount_minor();
    return db.InTenant(rc, [&](pqxx::work& tx) {
        LoadProduct(db, tx, rc.tenant_id, product_id, true);
        const pqxx::result before = db.Exec(tx, sql::kGetPriceBookEntry, rc.tenant_id, product_id, currency);
        if (!before.empty() && before[0][2].as<std::int64_t>() == unit_price) return ReadEntry(before[0]);
        const v1::PriceBookEntry entry =
            ReadEntry(db.Exec(tx, sql::kUpsertPriceBookEntry, rc.tenant_id, product_id, currency, unit_price)[0]);
        // The product's version moves with its prices, so the events of one product keep strictly rising versions.
        const pqxx::result version = db.Exec(tx, sql::kBumpProduct, rc.tenant_id, product_id);
        ev::PriceBookEntrySet event;
        *event.mutable_entry() = entry;
        if (!before.empty()) *event.mutable_previous_unit_price() = ReadEntry(before[0]).unit_price();
        Emit(outbox, tx, rc, "product", product_id, version[0][0].as<std::int64_t>(), event, entry.update_time());
        return entry;
    });
}

common::Page<v1::PriceBookEntry> ListPrices(common::Db& db, const RequestContext& rc, const std::string& product_id,
                                            const std::string& currency, int page_size, const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListPriceBookEntries", product_id, currency}.dump();
    // The keyset is (product id, currency).
    std::vector<std::string> after = {"00000000-0000-0000-0000-000000000000", ""};
    if (!page_token.empty()) after = common::DecodePageToken(page_token, rc.tenant_id, scope, 2);
    std::vector<v1::PriceBookEntry> items = db.InTenant(rc, [&](pqxx::work& tx) {
        if (!product_id.empty()) LoadProduct(db, tx, rc.tenant_id, product_id);
        std::vector<v1::PriceBookEntry> out;
        for (const auto& r : db.Exec(tx, sql::kListPriceBookEntries, rc.tenant_id, common::NullIfEmpty(product_id),
                                     common::NullIfEmpty(currency), after[0], after[1], page_size + 1)) {
            out.push_back(ReadEntry(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::PriceBookEntry& e) {
        return common::EncodePageToken(rc.tenant_id, scope, {e.product_id(), e.unit_price().currency_code()});
    });
}

}  // namespace crm::sales::catalogue
