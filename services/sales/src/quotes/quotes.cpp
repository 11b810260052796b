// Quotes and the sales settings (see quotes.hpp).
#include "quotes/quotes.hpp"

#include <crm/sales/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "catalogue/catalogue.hpp"
#include "crm/common/crypto.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/idempotency.hpp"
#include "crm/common/resource.hpp"
#include "domain/decimal.hpp"
#include "opportunities/opportunities.hpp"
#include "quotes/sql.hpp"
#include "records.hpp"

namespace crm::sales::quotes {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;

constexpr char kDefaultThreshold[] = "20";

const char* StatusText(v1::QuoteStatus s) {
    switch (s) {
        case v1::QUOTE_STATUS_NEEDS_APPROVAL:
            return "NEEDS_APPROVAL";
        case v1::QUOTE_STATUS_APPROVED:
            return "APPROVED";
        case v1::QUOTE_STATUS_SENT:
            return "SENT";
        case v1::QUOTE_STATUS_ACCEPTED:
            return "ACCEPTED";
        case v1::QUOTE_STATUS_REJECTED:
            return "REJECTED";
        default:
            return "DRAFT";
    }
}

v1::QuoteStatus ParseStatus(const std::string& t) {
    v1::QuoteStatus s = v1::QUOTE_STATUS_UNSPECIFIED;
    v1::QuoteStatus_Parse("QUOTE_STATUS_" + t, &s);
    return s;
}

std::string LinesJson(const v1::Quote& q) {
    std::string out = "[";
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    for (int i = 0; i < q.line_items_size(); ++i) {
        std::string line;
        if (!google::protobuf::util::MessageToJsonString(q.line_items(i), &line, options).ok()) {
            throw std::runtime_error("quote line to JSON failed");
        }
        if (i > 0) out += ",";
        out += line;
    }
    return out + "]";
}

// A row of CRM_QUOTE_COLUMNS (quotes/sql.hpp).
v1::Quote ReadQuote(const pqxx::row& r) {
    v1::Quote q;
    q.set_id(r[0].as<std::string>());
    q.set_opportunity_id(r[1].as<std::string>());
    q.set_title(r[2].as<std::string>());
    const std::string currency = r[3].as<std::string>();
    q.set_currency_code(currency);
    const nlohmann::json lines = nlohmann::json::parse(r[4].c_str());
    for (const auto& line : lines) {
        if (!google::protobuf::util::JsonStringToMessage(line.dump(), q.add_line_items()).ok()) {
            throw std::runtime_error("stored quote line is not valid JSON");
        }
    }
    SetMoney(q.mutable_subtotal(), r[5].as<std::int64_t>(), currency);
    SetMoney(q.mutable_discount_total(), r[6].as<std::int64_t>(), currency);
    SetMoney(q.mutable_net_total(), r[7].as<std::int64_t>(), currency);
    SetMoney(q.mutable_tax_total(), r[8].as<std::int64_t>(), currency);
    SetMoney(q.mutable_total(), r[9].as<std::int64_t>(), currency);
    q.set_max_discount_percent(r[10].as<std::string>());
    q.set_status(ParseStatus(r[11].as<std::string>()));
    q.set_approved_by(r[12].as<std::string>());
    q.set_rejection_reason(r[13].as<std::string>());
    q.set_valid_until(r[14].as<std::string>());
    SetTime(q.mutable_create_time(), r[15]);
    SetTime(q.mutable_update_time(), r[16]);
    q.set_version(r[17].as<std::int64_t>());
    q.set_etag(common::MakeEtag(q.version()));
    return q;
}

v1::Quote Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
               bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetQuoteForUpdate : sql::kGetQuote, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("quote", id);
    return ReadQuote(rows[0]);
}

// A decimal the handler checked ("" = 0 for the percentages).
domain::Fixed Decimal(const std::string& text, int scale) {
    const auto parsed = domain::ParseFixed(text.empty() ? "0" : text, scale);
    if (!parsed) throw std::logic_error("an unchecked decimal reached the quote arithmetic");
    return *parsed;
}

// Prices `lines` (a line's unit_price, else the price book's in q's currency), computes every amount and fills q's
// lines and totals. Throws INVALID_ARGUMENT / FAILED_PRECONDITION naming the line.
void Price(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
           const google::protobuf::RepeatedPtrField<v1::QuoteLineItem>& lines, v1::Quote& q) {
    std::vector<domain::LineInput> inputs;
    common::Violations violations;
    const std::string& c = q.currency_code();
    std::vector<v1::QuoteLineItem> priced;
    domain::Fixed max_discount{0, domain::kDiscountScale};
    for (int i = 0; i < lines.size(); ++i) {
        const v1::QuoteLineItem& in = lines[i];
        const std::string at = "quote.line_items[" + std::to_string(i) + "]";
        v1::QuoteLineItem line;
        line.set_product_id(in.product_id());
        line.set_description(in.description());
        std::int64_t price = in.unit_price().amount_minor();
        if (!in.product_id().empty()) {
            const std::optional<v1::Product> product = catalogue::FindProduct(db, tx, tenant, in.product_id());
            if (!product) {
                violations.Add(at + ".product_id", "no product with this id");
                continue;
            }
            if (!product->active()) {
                violations.Add(at + ".product_id", "the product is inactive");
                continue;
            }
            if (in.description().empty()) line.set_description(product->name());
            if (!in.has_unit_price()) {
                const std::optional<std::int64_t> listed = catalogue::FindPrice(db, tx, tenant, in.product_id(), c);
                if (!listed) {
                    throw ApiError::FailedPrecondition(
                        at + ": the product has no price in " + c + "; set a price book entry or give unit_price",
                        "NO_PRICE_BOOK_ENTRY");
                }
                price = *listed;
            }
        }
        if (in.has_unit_price() && !in.unit_price().currency_code().empty() && in.unit_price().currency_code() != c) {
            violations.Add(at + ".unit_price.currency_code", "must be the quote currency " + c);
        }
        const domain::LineInput input{Decimal(in.quantity(), domain::kQuantityScale), price,
                                      Decimal(in.discount_percent(), domain::kDiscountScale),
                                      Decimal(in.tax_percent(), domain::kTaxScale)};
        line.set_quantity(domain::FormatFixed(input.quantity));
        SetMoney(line.mutable_unit_price(), price, c);
        line.set_discount_percent(domain::FormatFixed(input.discount_percent));
        line.set_tax_percent(domain::FormatFixed(input.tax_percent));
        if (input.discount_percent.units > max_discount.units) max_discount = input.discount_percent;
        inputs.push_back(input);
        priced.push_back(std::move(line));
    }
    violations.ThrowIfAny();
    const auto totals = domain::ComputeQuote(inputs);
    if (!totals) throw ApiError::InvalidArgument("quote.line_items", "the amounts are too large");
    q.clear_line_items();
    for (std::size_t i = 0; i < totals->lines.size(); ++i) {
        v1::QuoteLineItem* line = q.add_line_items();
        *line = std::move(priced[i]);
        const auto& a = totals->lines[i];
        SetMoney(line->mutable_subtotal(), a.subtotal, c);
        SetMoney(line->mutable_discount(), a.discount, c);
        SetMoney(line->mutable_net(), a.net, c);
        SetMoney(line->mutable_tax(), a.tax, c);
        SetMoney(line->mutable_total(), a.total, c);
    }
    SetMoney(q.mutable_subtotal(), totals->totals.subtotal, c);
    SetMoney(q.mutable_discount_total(), totals->totals.discount, c);
    SetMoney(q.mutable_net_total(), totals->totals.net, c);
    SetMoney(q.mutable_tax_total(), totals->totals.tax, c);
    SetMoney(q.mutable_total(), totals->totals.total, c);
    q.set_max_discount_percent(domain::FormatFixed(max_discount));
}

std::string Threshold(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    const pqxx::result rows = db.Exec(tx, sql::kGetSettings, tenant);
    return rows.empty() ? kDefaultThreshold : rows[0][0].as<std::string>();
}

// Writes the new status (optimistic on version); returns the stored quote.
v1::Quote WriteStatus(common::Db& db, pqxx::transaction_base& tx, const RequestContext& rc, const v1::Quote& current,
                      v1::QuoteStatus to, const std::string& approved_by, const std::string& rejection_reason) {
    const pqxx::result rows = db.Exec(tx, sql::kSetQuoteStatus, rc.tenant_id, current.id(), StatusText(to), approved_by,
                                      rejection_reason, current.version());
    if (rows.empty()) throw ApiError::Aborted("the quote changed concurrently; read it again and retry");
    return Load(db, tx, rc.tenant_id, current.id());
}

}  // namespace

v1::Quote Create(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Quote& in,
                 const std::string& request_id) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = common::ClaimRequest(db, tx, t, "CreateQuote", request_id, id)) {
            return Load(db, tx, t, *first);
        }
        const std::optional<v1::Opportunity> deal = opportunities::Find(db, tx, t, in.opportunity_id());
        if (!deal) throw ApiError::InvalidArgument("quote.opportunity_id", "no opportunity with this id");
        opportunities::RequireOpen(*deal);
        v1::Quote q;
        q.set_currency_code(in.currency_code().empty() ? deal->amount().currency_code() : in.currency_code());
        Price(db, tx, t, in.line_items(), q);
        db.Exec(tx, sql::kInsertQuote, t, id, in.opportunity_id(), in.title(), q.currency_code(), LinesJson(q),
                q.subtotal().amount_minor(), q.discount_total().amount_minor(), q.net_total().amount_minor(),
                q.tax_total().amount_minor(), q.total().amount_minor(), q.max_discount_percent(),
                common::NullIfEmpty(in.valid_until()));
        v1::Quote created = Load(db, tx, t, id);
        ev::QuoteCreated event;
        *event.mutable_quote() = created;
        Emit(outbox, tx, rc, "quote", id, created.version(), event, created.create_time());
        return created;
    });
}

v1::Quote Get(common::Db& db, const RequestContext& rc, const std::string& id) {
    return db.InTenant(rc, [&](pqxx::work& tx) { return Load(db, tx, rc.tenant_id, id); });
}

common::Page<v1::Quote> List(common::Db& db, const RequestContext& rc, const std::string& opportunity_id, int page_size,
                             const std::string& page_token) {
    const std::string scope = nlohmann::json{"ListQuotes", opportunity_id}.dump();
    const common::TimeIdKey after =
        common::DecodeTimeIdToken(page_token, rc.tenant_id, scope, common::SortOrder::kDescending);
    std::vector<v1::Quote> items = db.InTenant(rc, [&](pqxx::work& tx) {
        if (!opportunity_id.empty()) opportunities::Load(db, tx, rc.tenant_id, opportunity_id);
        std::vector<v1::Quote> out;
        for (const auto& r :
             db.Exec(tx, opportunity_id.empty() ? sql::kListQuotes : sql::kListQuotesOfOpportunity, rc.tenant_id,
                     common::NullIfEmpty(opportunity_id), after.micros, after.id, page_size + 1)) {
            out.push_back(ReadQuote(r));
        }
        return out;
    });
    return common::MakePage(std::move(items), page_size, [&](const v1::Quote& q) {
        return common::EncodeTimeIdToken(rc.tenant_id, scope, {Micros(q.create_time()), q.id()});
    });
}

v1::Quote Update(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const v1::Quote& in,
                 const std::vector<std::string>& paths, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Quote current = Load(db, tx, t, in.id(), true);
        common::CheckEtag(etag, current.version());
        if (current.status() != v1::QUOTE_STATUS_DRAFT) {
            throw ApiError::FailedPrecondition("only draft quotes can be changed", "QUOTE_NOT_DRAFT");
        }
        v1::Quote next = current;
        std::vector<std::string> changed;
        for (const auto& p : paths) {
            if (p == "title" && in.title() != current.title()) {
                next.set_title(in.title());
                changed.push_back("title");
            }
            if (p == "valid_until" && in.valid_until() != current.valid_until()) {
                next.set_valid_until(in.valid_until());
                changed.push_back("valid_until");
            }
            if (p == "line_items") {
                Price(db, tx, t, in.line_items(), next);
                if (LinesJson(next) != LinesJson(current)) changed.push_back("line_items");
            }
        }
        if (changed.empty()) return current;
        db.Exec(tx, sql::kWriteQuote, t, in.id(), next.title(), LinesJson(next), next.subtotal().amount_minor(),
                next.discount_total().amount_minor(), next.net_total().amount_minor(), next.tax_total().amount_minor(),
                next.total().amount_minor(), next.max_discount_percent(), common::NullIfEmpty(next.valid_until()));
        v1::Quote updated = Load(db, tx, t, in.id());
        ev::QuoteUpdated event;
        *event.mutable_quote() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        Emit(outbox, tx, rc, "quote", updated.id(), updated.version(), event, updated.update_time());
        return updated;
    });
}

v1::Quote ChangeStatus(common::Db& db, common::Outbox& outbox, const RequestContext& rc, const std::string& id,
                       const std::string& action, const std::string& reason, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Quote current = Load(db, tx, t, id, true);
        common::CheckEtag(etag, current.version());
        const v1::QuoteStatus from = current.status();
        v1::QuoteStatus to = from;
        auto refuse = [&](const std::string& expected) {
            throw ApiError::FailedPrecondition(
                "the quote is " + std::string(StatusText(from)) + "; " + action + " needs " + expected, "QUOTE_STATUS");
        };
        if (action == "submit") {
            if (from != v1::QUOTE_STATUS_DRAFT) refuse("DRAFT");
            const auto threshold = domain::ParseFixed(Threshold(db, tx, t), domain::kDiscountScale);
            const auto max_discount = domain::ParseFixed(current.max_discount_percent(), domain::kDiscountScale);
            const bool needs = threshold && max_discount && max_discount->units > threshold->units;
            to = needs ? v1::QUOTE_STATUS_NEEDS_APPROVAL : v1::QUOTE_STATUS_APPROVED;
        } else if (action == "approve") {
            if (from != v1::QUOTE_STATUS_NEEDS_APPROVAL) refuse("NEEDS_APPROVAL");
            to = v1::QUOTE_STATUS_APPROVED;
        } else if (action == "send") {
            if (from != v1::QUOTE_STATUS_APPROVED) refuse("APPROVED");
            to = v1::QUOTE_STATUS_SENT;
        } else if (action == "reject") {
            if (from != v1::QUOTE_STATUS_SENT && from != v1::QUOTE_STATUS_NEEDS_APPROVAL) {
                refuse("NEEDS_APPROVAL or SENT");
            }
            to = v1::QUOTE_STATUS_REJECTED;
        }
        const v1::Quote updated =
            WriteStatus(db, tx, rc, current, to, action == "approve" ? rc.user_id : current.approved_by(),
                        action == "reject" ? reason : "");
        ev::QuoteStatusChanged event;
        *event.mutable_quote() = updated;
        event.set_from_status(from);
        event.set_to_status(to);
        event.set_changed_by(rc.user_id);
        Emit(outbox, tx, rc, "quote", id, updated.version(), event, updated.update_time());
        return updated;
    });
}

std::pair<v1::Quote, v1::Opportunity> Accept(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                             const v1::AcceptQuoteRequest& req) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Quote current = Load(db, tx, t, req.id(), true);
        common::CheckEtag(req.etag(), current.version());
        if (current.status() != v1::QUOTE_STATUS_SENT) {
            throw ApiError::FailedPrecondition(
                "the quote is " + std::string(StatusText(current.status())) + "; accept needs SENT", "QUOTE_STATUS");
        }
        const v1::Opportunity deal = opportunities::Load(db, tx, t, current.opportunity_id(), true);
        if (req.set_opportunity_amount()) {
            opportunities::RequireOpen(deal);
            if (deal.amount().currency_code() != current.currency_code()) {
                throw ApiError::FailedPrecondition("the quote's currency differs from the opportunity's",
                                                   "CURRENCY_MISMATCH");
            }
        }
        const v1::Quote accepted =
            WriteStatus(db, tx, rc, current, v1::QUOTE_STATUS_ACCEPTED, current.approved_by(), "");
        ev::QuoteAccepted event;
        *event.mutable_quote() = accepted;
        event.set_opportunity_id(deal.id());
        event.set_opportunity_amount_set(req.set_opportunity_amount());
        Emit(outbox, tx, rc, "quote", accepted.id(), accepted.version(), event, accepted.update_time());
        if (!req.set_opportunity_amount()) return std::make_pair(accepted, deal);
        return std::make_pair(accepted, opportunities::SetAmountFromQuote(db, outbox, tx, rc, deal, accepted));
    });
}

// ==== settings =======================================================================================================

v1::SalesSettings GetSettings(common::Db& db, const RequestContext& rc) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        v1::SalesSettings s;
        const pqxx::result rows = db.Exec(tx, sql::kGetSettings, rc.tenant_id);
        if (rows.empty()) {
            s.set_discount_approval_threshold_percent(kDefaultThreshold);
            s.set_etag(common::MakeEtag(0));
            return s;
        }
        s.set_discount_approval_threshold_percent(rows[0][0].as<std::string>());
        s.set_etag(common::MakeEtag(rows[0][1].as<std::int64_t>()));
        SetTime(s.mutable_update_time(), rows[0][2]);
        return s;
    });
}

v1::SalesSettings UpdateSettings(common::Db& db, common::Outbox& outbox, const RequestContext& rc,
                                 const std::string& threshold, const std::string& etag) {
    return db.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result before = db.Exec(tx, sql::kGetSettingsForUpdate, rc.tenant_id);
        common::CheckEtag(etag, before.empty() ? 0 : before[0][1].as<std::int64_t>());
        const pqxx::result rows = db.Exec(tx, sql::kUpsertSettings, rc.tenant_id, threshold);
        v1::SalesSettings out;
        out.set_discount_approval_threshold_percent(rows[0][0].as<std::string>());
        const std::int64_t version = rows[0][1].as<std::int64_t>();
        out.set_etag(common::MakeEtag(version));
        SetTime(out.mutable_update_time(), rows[0][2]);
        ev::SalesSettingsUpdated event;
        *event.mutable_settings() = out;
        Emit(outbox, tx, rc, "sales_settings", rc.tenant_id, version, event, out.update_time());
        return out;
    });
}

}  // namespace crm::sales::quotes
