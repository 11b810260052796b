// Repository of the sales service (see repository.hpp).
#include "storage/repository.hpp"

#include <crm/sales/events/v1/events.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/log.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/paging.hpp"
#include "crm/common/resource.hpp"
#include "domain/forecast.hpp"
#include "storage/sql.hpp"

namespace crm::sales::storage {
namespace {

namespace ev = crm::sales::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";
constexpr std::int64_t kMinMicros = -62135596800000000;
constexpr std::int64_t kMaxMicros = 253402300799999999;
constexpr char kDefaultThreshold[] = "20";

// ---- row helpers --------------------------------------------------------------------------------------------------

void SetTime(google::protobuf::Timestamp* out, const pqxx::field& micros) {
    *out = TimeUtil::MicrosecondsToTimestamp(micros.as<std::int64_t>());
}
template <class M>
void SetTimeIf(M* message, google::protobuf::Timestamp* (M::*mutable_field)(), const pqxx::field& micros) {
    if (!micros.is_null()) SetTime((message->*mutable_field)(), micros);
}
std::string MicrosText(const google::protobuf::Timestamp& t) {
    return std::to_string(TimeUtil::TimestampToMicroseconds(t));
}
std::int64_t Micros(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToMicroseconds(t); }

crm::common::v1::Money* SetMoney(crm::common::v1::Money* m, std::int64_t minor, const std::string& currency) {
    m->set_amount_minor(minor);
    m->set_currency_code(currency);
    return m;
}

v1::ForecastCategory CategoryOf(const std::string& text) {
    return static_cast<v1::ForecastCategory>(domain::ParseCategory(text));
}

void CheckEtag(const std::string& expected, std::int64_t version) {
    if (expected.empty()) return;
    if (expected != common::MakeEtag(version)) {
        throw ApiError::Aborted("the resource changed since it was read (etag mismatch); read it again and retry");
    }
}

// Idempotency: nullopt when this call is the first with request_id (or there is none); else the earlier resource id.
std::optional<std::string> ClaimRequest(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                        const std::string& operation, const std::string& request_id,
                                        const std::string& resource_id) {
    if (request_id.empty()) return std::nullopt;
    const pqxx::result claimed = db.Exec(tx, sql::kClaimRequest, tenant, operation, request_id, resource_id);
    if (!claimed.empty()) return std::nullopt;
    const pqxx::result earlier = db.Exec(tx, sql::kClaimedResource, tenant, operation, request_id);
    if (earlier.empty()) throw ApiError::Aborted("a concurrent call with the same request_id did not finish; retry");
    return earlier[0][0].as<std::string>();
}

struct Cursor {
    std::string micros;
    std::string id;
};
Cursor DecodeCursor(const std::string& tenant, const std::string& token, const std::string& scope, bool descending) {
    if (token.empty()) {
        return {std::to_string(descending ? kMaxMicros : kMinMicros),
                descending ? "ffffffff-ffff-ffff-ffff-ffffffffffff" : kNilUuid};
    }
    const auto keys = common::DecodePageToken(token, tenant, scope, 2);
    return {keys[0], keys[1]};
}

template <class T, class KeyFn>
Page<T> MakePage(std::vector<T> items, int limit, const std::string& tenant, const std::string& scope, KeyFn key) {
    Page<T> page;
    if (static_cast<int>(items.size()) > limit) {
        items.resize(static_cast<std::size_t>(limit));
        page.next_page_token = common::EncodePageToken(tenant, scope, key(items.back()));
    }
    page.items = std::move(items);
    return page;
}

std::string Scope(const nlohmann::json& parts) { return parts.dump(); }

template <class Event>
void Emit(common::Outbox& outbox, pqxx::work& tx, const std::string& tenant, const std::string& request_id,
          const char* aggregate, const std::string& id, std::int64_t version, Event& event,
          const google::protobuf::Timestamp& at) {
    event.set_tenant_id(tenant);
    *event.mutable_occurred_at() = at;
    outbox.Append(tx, tenant, request_id, common::NewEvent{aggregate, id, version, event});
}
template <class Event>
void Emit(common::Outbox& outbox, pqxx::work& tx, const RequestContext& rc, const char* aggregate,
          const std::string& id, std::int64_t version, Event& event, const google::protobuf::Timestamp& at) {
    Emit(outbox, tx, rc.tenant_id, rc.request_id, aggregate, id, version, event, at);
}

void EnsureTenant(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    db.Exec(tx, sql::kEnsureTenant, tenant);
}

// ---- pipelines ----------------------------------------------------------------------------------------------------

v1::Pipeline ReadPipeline(common::Db& db, pqxx::work& tx, const std::string& tenant, const pqxx::row& row) {
    v1::Pipeline p;
    p.set_id(row[0].as<std::string>());
    p.set_name(row[1].as<std::string>());
    p.set_is_default(row[2].as<bool>());
    p.set_version(row[3].as<std::int64_t>());
    p.set_etag(common::MakeEtag(p.version()));
    SetTime(p.mutable_create_time(), row[4]);
    SetTime(p.mutable_update_time(), row[5]);
    for (const auto& s : db.Exec(tx, sql::kStagesOf, tenant, p.id())) {
        v1::Stage* stage = s[5].is_null() ? p.add_stages() : p.add_archived_stages();
        stage->set_id(s[0].as<std::string>());
        stage->set_name(s[1].as<std::string>());
        stage->set_position(s[2].as<int>());
        stage->set_probability(s[3].as<int>());
        stage->set_forecast_category(CategoryOf(s[4].as<std::string>()));
        SetTimeIf(stage, &v1::Stage::mutable_archive_time, s[5]);
    }
    return p;
}

v1::Pipeline LoadPipeline(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                          bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetPipelineForUpdate : sql::kGetPipeline, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("pipeline", id);
    return ReadPipeline(db, tx, tenant, rows[0]);
}

v1::Pipeline InsertPipeline(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const RequestContext& rc,
                            const std::string& id, const std::string& name,
                            const std::vector<domain::StageSpec>& stages, bool is_default, bool& inserted) {
    const pqxx::result rows =
        db.Exec(tx, is_default ? sql::kInsertDefaultPipeline : sql::kInsertPipeline, rc.tenant_id, id, name);
    inserted = !rows.empty();
    if (!inserted) return {};
    for (std::size_t i = 0; i < stages.size(); ++i) {
        db.Exec(tx, sql::kInsertStage, rc.tenant_id, common::NewUuid(), id, static_cast<int>(i), stages[i].name,
                stages[i].probability, domain::CategoryText(stages[i].category));
    }
    v1::Pipeline created = LoadPipeline(db, tx, rc.tenant_id, id);
    ev::PipelineCreated event;
    *event.mutable_pipeline() = created;
    Emit(outbox, tx, rc, "pipeline", id, created.version(), event, created.update_time());
    return created;
}

v1::Pipeline EnsureDefaultPipeline(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const RequestContext& rc) {
    pqxx::result rows = db.Exec(tx, sql::kGetDefaultPipeline, rc.tenant_id);
    if (!rows.empty()) return ReadPipeline(db, tx, rc.tenant_id, rows[0]);
    EnsureTenant(db, tx, rc.tenant_id);
    bool inserted = false;
    v1::Pipeline created = InsertPipeline(db, outbox, tx, rc, common::NewUuid(), domain::DefaultPipelineName(),
                                          domain::DefaultStages(), true, inserted);
    if (inserted) return created;
    // A concurrent first use committed its default pipeline while this insert waited on the unique index.
    rows = db.Exec(tx, sql::kGetDefaultPipeline, rc.tenant_id);
    if (rows.empty()) throw ApiError::Aborted("the default pipeline is being created; retry", "CONCURRENT_CREATE");
    return ReadPipeline(db, tx, rc.tenant_id, rows[0]);
}

struct StageRow {
    std::string id, name, pipeline_id;
    int probability = 0;
    domain::Category category = domain::Category::kUnspecified;
    bool archived = false;
};

std::optional<StageRow> LoadStage(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id) {
    const pqxx::result rows = db.Exec(tx, sql::kGetStage, tenant, id);
    if (rows.empty()) return std::nullopt;
    return StageRow{rows[0][0].as<std::string>(),
                    rows[0][1].as<std::string>(),
                    rows[0][2].as<std::string>(),
                    rows[0][3].as<int>(),
                    domain::ParseCategory(rows[0][4].as<std::string>()),
                    rows[0][5].as<bool>()};
}

// "{a,b}" for a uuid[] parameter (the values are UUIDs checked by the API layer).
std::string UuidArray(const std::vector<std::string>& ids) {
    std::string out = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + ids[i];
    return out + "}";
}

StageRow StageByCategory(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& pipeline,
                         domain::Category category) {
    const pqxx::result rows = db.Exec(tx, sql::kStageByCategory, tenant, pipeline, domain::CategoryText(category));
    if (rows.empty()) throw ApiError::FailedPrecondition("the pipeline has no such stage", "STAGE_MISSING");
    return StageRow{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(), pipeline, rows[0][2].as<int>(),
                    category};
}

// ---- opportunities ------------------------------------------------------------------------------------------------

v1::Opportunity ReadOpportunity(const pqxx::row& r) {
    v1::Opportunity o;
    o.set_id(r[0].as<std::string>());
    o.set_name(r[1].as<std::string>());
    o.set_pipeline_id(r[2].as<std::string>());
    o.set_stage_id(r[3].as<std::string>());
    o.set_stage_name(r[4].as<std::string>());
    o.set_probability(r[5].as<int>());
    o.set_forecast_category(CategoryOf(r[6].as<std::string>()));
    SetMoney(o.mutable_amount(), r[7].as<std::int64_t>(), r[8].as<std::string>());
    o.set_expected_close_date(r[9].as<std::string>());
    o.set_owner_id(r[10].as<std::string>());
    o.set_contact_id(r[11].as<std::string>());
    o.set_company_id(r[12].as<std::string>());
    o.set_source_campaign_id(r[13].as<std::string>());
    o.set_lead_id(r[14].as<std::string>());
    o.set_description(r[15].as<std::string>());
    o.set_status(static_cast<v1::OpportunityStatus>(domain::ParseStatus(r[16].as<std::string>())));
    o.set_lost_reason(r[17].as<std::string>());
    SetTime(o.mutable_stage_enter_time(), r[18]);
    SetTime(o.mutable_create_time(), r[19]);
    SetTime(o.mutable_update_time(), r[20]);
    SetTimeIf(&o, &v1::Opportunity::mutable_close_time, r[21]);
    SetTimeIf(&o, &v1::Opportunity::mutable_delete_time, r[22]);
    o.set_version(r[23].as<std::int64_t>());
    o.set_etag(common::MakeEtag(o.version()));
    o.set_accepted_quote_id(r[24].as<std::string>());
    return o;
}

v1::Opportunity LoadOpportunity(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                                bool for_update = false) {
    const pqxx::result rows =
        db.Exec(tx, for_update ? sql::kGetOpportunityForUpdate : sql::kGetOpportunity, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("opportunity", id);
    return ReadOpportunity(rows[0]);
}

domain::DealState StateOf(const v1::Opportunity& o) {
    return {static_cast<domain::DealStatus>(o.status()), o.has_delete_time(), !o.expected_close_date().empty()};
}

void ThrowRule(const std::optional<domain::RuleBreak>& rule) {
    if (rule) throw ApiError::FailedPrecondition(rule->message, rule->reason);
}

// Writes every mutable column of `o` (optimistic on version); the caller reloads.
void WriteOpportunity(common::Db& db, pqxx::work& tx, const std::string& tenant, const v1::Opportunity& o,
                      std::int64_t expected_version, int version_step = 1) {
    const pqxx::result rows =
        db.Exec(tx, sql::kWriteOpportunity, tenant, o.id(), o.name(), o.probability(), o.amount().amount_minor(),
                common::NullIfEmpty(o.expected_close_date()), o.owner_id(), common::NullIfEmpty(o.contact_id()),
                common::NullIfEmpty(o.company_id()), o.source_campaign_id(), common::NullIfEmpty(o.lead_id()),
                o.description(), expected_version, version_step, common::NullIfEmpty(o.accepted_quote_id()));
    if (rows.empty()) throw ApiError::Aborted("the opportunity changed concurrently; read it again and retry");
}

std::vector<std::string> ChangedOpportunityPaths(const v1::Opportunity& a, const v1::Opportunity& b) {
    std::vector<std::string> out;
    if (a.name() != b.name()) out.push_back("name");
    if (a.amount().amount_minor() != b.amount().amount_minor()) out.push_back("amount");
    if (a.probability() != b.probability()) out.push_back("probability");
    if (a.expected_close_date() != b.expected_close_date()) out.push_back("expected_close_date");
    if (a.owner_id() != b.owner_id()) out.push_back("owner_id");
    if (a.contact_id() != b.contact_id()) out.push_back("contact_id");
    if (a.company_id() != b.company_id()) out.push_back("company_id");
    if (a.source_campaign_id() != b.source_campaign_id()) out.push_back("source_campaign_id");
    if (a.lead_id() != b.lead_id()) out.push_back("lead_id");
    if (a.description() != b.description()) out.push_back("description");
    if (a.accepted_quote_id() != b.accepted_quote_id()) out.push_back("accepted_quote_id");
    return out;
}

// ---- activities ---------------------------------------------------------------------------------------------------

const char* ActivityTypeText(v1::ActivityType t) {
    switch (t) {
        case v1::ACTIVITY_TYPE_CALL:
            return "CALL";
        case v1::ACTIVITY_TYPE_EMAIL:
            return "EMAIL";
        case v1::ACTIVITY_TYPE_MEETING:
            return "MEETING";
        default:
            return "TASK";
    }
}
v1::ActivityType ParseActivityType(const std::string& t) {
    if (t == "CALL") return v1::ACTIVITY_TYPE_CALL;
    if (t == "EMAIL") return v1::ACTIVITY_TYPE_EMAIL;
    if (t == "MEETING") return v1::ACTIVITY_TYPE_MEETING;
    return v1::ACTIVITY_TYPE_TASK;
}

v1::Activity ReadActivity(const pqxx::row& r) {
    v1::Activity a;
    a.set_id(r[0].as<std::string>());
    a.set_type(ParseActivityType(r[1].as<std::string>()));
    a.set_subject(r[2].as<std::string>());
    a.set_description(r[3].as<std::string>());
    a.set_lead_id(r[4].as<std::string>());
    a.set_contact_id(r[5].as<std::string>());
    a.set_company_id(r[6].as<std::string>());
    a.set_opportunity_id(r[7].as<std::string>());
    SetTimeIf(&a, &v1::Activity::mutable_due_time, r[8]);
    SetTimeIf(&a, &v1::Activity::mutable_remind_time, r[9]);
    a.set_owner_id(r[10].as<std::string>());
    a.set_status(r[11].as<std::string>() == "COMPLETED" ? v1::ACTIVITY_STATUS_COMPLETED : v1::ACTIVITY_STATUS_OPEN);
    SetTimeIf(&a, &v1::Activity::mutable_complete_time, r[12]);
    a.set_outcome(r[13].as<std::string>());
    SetTimeIf(&a, &v1::Activity::mutable_reminder_sent_time, r[14]);
    SetTime(a.mutable_create_time(), r[15]);
    SetTime(a.mutable_update_time(), r[16]);
    a.set_version(r[17].as<std::int64_t>());
    a.set_etag(common::MakeEtag(a.version()));
    return a;
}

v1::Activity LoadActivity(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                          bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetActivityForUpdate : sql::kGetActivity, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("activity", id);
    return ReadActivity(rows[0]);
}

const char* OptionalMicros(const v1::Activity& a, bool has, const google::protobuf::Timestamp& t, std::string& buf) {
    if (!has) return nullptr;
    buf = MicrosText(t);
    return buf.c_str();
}

// ---- products -----------------------------------------------------------------------------------------------------

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

v1::Product LoadProduct(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                        bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetProductForUpdate : sql::kGetProduct, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("product", id);
    return ReadProduct(rows[0]);
}

v1::PriceBookEntry ReadEntry(const pqxx::row& r) {
    v1::PriceBookEntry e;
    e.set_product_id(r[0].as<std::string>());
    SetMoney(e.mutable_unit_price(), r[2].as<std::int64_t>(), r[1].as<std::string>());
    SetTime(e.mutable_update_time(), r[3]);
    return e;
}

void SkuTaken(const pqxx::unique_violation&) {
    throw ApiError::AlreadyExists("another product of the tenant has this sku", "DUPLICATE_SKU");
}

// ---- quotes -------------------------------------------------------------------------------------------------------

const char* QuoteStatusText(v1::QuoteStatus s) {
    switch (s) {
        case v1::QUOTE_STATUS_DRAFT:
            return "DRAFT";
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
v1::QuoteStatus ParseQuoteStatus(const std::string& t) {
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
    q.set_status(ParseQuoteStatus(r[11].as<std::string>()));
    q.set_approved_by(r[12].as<std::string>());
    q.set_rejection_reason(r[13].as<std::string>());
    q.set_valid_until(r[14].as<std::string>());
    SetTime(q.mutable_create_time(), r[15]);
    SetTime(q.mutable_update_time(), r[16]);
    q.set_version(r[17].as<std::int64_t>());
    q.set_etag(common::MakeEtag(q.version()));
    return q;
}

v1::Quote LoadQuote(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::string& id,
                    bool for_update = false) {
    const pqxx::result rows = db.Exec(tx, for_update ? sql::kGetQuoteForUpdate : sql::kGetQuote, tenant, id);
    if (rows.empty()) throw ApiError::NotFound("quote", id);
    return ReadQuote(rows[0]);
}

// Resolves prices (price book for lines with a product and no price), computes every amount, and fills q's lines
// and totals. Throws INVALID_ARGUMENT / FAILED_PRECONDITION naming the line.
void PriceQuote(common::Db& db, pqxx::work& tx, const std::string& tenant, const std::vector<QuoteLineSpec>& specs,
                v1::Quote& q) {
    std::vector<domain::LineInput> inputs;
    common::Violations violations;
    q.clear_line_items();
    domain::Fixed max_discount{0, domain::kDiscountScale};
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const QuoteLineSpec& s = specs[i];
        const std::string at = "quote.line_items[" + std::to_string(i) + "]";
        v1::QuoteLineItem* line = q.add_line_items();
        line->set_product_id(s.product_id);
        line->set_description(s.description);
        std::int64_t price = s.unit_price.value_or(0);
        if (!s.product_id.empty()) {
            const pqxx::result product = db.Exec(tx, sql::kGetProduct, tenant, s.product_id);
            if (product.empty()) {
                violations.Add(at + ".product_id", "no product with this id");
                continue;
            }
            if (!product[0][4].as<bool>()) {
                violations.Add(at + ".product_id", "the product is inactive");
                continue;
            }
            if (s.description.empty()) line->set_description(product[0][1].as<std::string>());
            if (!s.unit_price) {
                const pqxx::result entry =
                    db.Exec(tx, sql::kGetPriceBookEntry, tenant, s.product_id, q.currency_code());
                if (entry.empty()) {
                    throw ApiError::FailedPrecondition(at + ": the product has no price in " + q.currency_code() +
                                                           "; set a price book entry or give unit_price",
                                                       "NO_PRICE_BOOK_ENTRY");
                }
                price = entry[0][2].as<std::int64_t>();
            }
        }
        if (s.unit_price && !s.unit_price_currency.empty() && s.unit_price_currency != q.currency_code()) {
            violations.Add(at + ".unit_price.currency_code", "must be the quote currency " + q.currency_code());
        }
        line->set_quantity(domain::FormatFixed(s.quantity));
        SetMoney(line->mutable_unit_price(), price, q.currency_code());
        line->set_discount_percent(domain::FormatFixed(s.discount));
        line->set_tax_percent(domain::FormatFixed(s.tax));
        if (s.discount.units > max_discount.units) max_discount = s.discount;
        inputs.push_back({s.quantity, price, s.discount, s.tax});
    }
    violations.ThrowIfAny();
    const auto totals = domain::ComputeQuote(inputs);
    if (!totals) throw ApiError::InvalidArgument("quote.line_items", "the amounts are too large");
    const std::string& c = q.currency_code();
    for (std::size_t i = 0; i < totals->lines.size(); ++i) {
        v1::QuoteLineItem* line = q.mutable_line_items(static_cast<int>(i));
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

std::string Threshold(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    const pqxx::result rows = db.Exec(tx, sql::kGetSettings, tenant);
    return rows.empty() ? kDefaultThreshold : rows[0][0].as<std::string>();
}

// ---- forecast -----------------------------------------------------------------------------------------------------

const char* PeriodText(domain::PeriodType t) { return t == domain::PeriodType::kQuarter ? "QUARTER" : "MONTH"; }

void FillPeriod(v1::Period* out, const domain::Period& p) {
    out->set_type(static_cast<v1::PeriodType>(p.type));
    out->set_start_date(domain::FormatDate(p.first));
    out->set_end_date(domain::FormatDate(p.last));
}

void FillFigures(v1::ForecastFigures* out, const domain::Figures& f) {
    out->set_pipeline_amount(f.pipeline);
    out->set_best_case_amount(f.best_case);
    out->set_commit_amount(f.commit);
    out->set_closed_won_amount(f.closed_won);
    out->set_closed_lost_amount(f.closed_lost);
    out->set_weighted_amount(f.weighted);
    out->set_open_count(f.open_count);
    out->set_won_count(f.won_count);
    out->set_lost_count(f.lost_count);
}

domain::Figures FiguresOf(const v1::ForecastFigures& f) {
    domain::Figures out;
    out.pipeline = f.pipeline_amount();
    out.best_case = f.best_case_amount();
    out.commit = f.commit_amount();
    out.closed_won = f.closed_won_amount();
    out.closed_lost = f.closed_lost_amount();
    out.weighted = f.weighted_amount();
    out.open_count = f.open_count();
    out.won_count = f.won_count();
    out.lost_count = f.lost_count();
    return out;
}

domain::Forecast ComputeForecastIn(common::Db& db, pqxx::work& tx, const std::string& tenant, const ForecastQuery& q) {
    const std::string first = domain::FormatDate(q.period.first), last = domain::FormatDate(q.period.last);
    std::vector<domain::ForecastDeal> deals;
    for (const auto* statement : {&sql::kForecastOpen, &sql::kForecastClosed}) {
        for (const auto& r : db.Exec(tx, *statement, tenant, q.currency, first, last,
                                     common::NullIfEmpty(q.pipeline_id), common::NullIfEmpty(q.owner_id))) {
            deals.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<int>(),
                             domain::ParseCategory(r[3].as<std::string>()),
                             domain::ParseStatus(r[4].as<std::string>())});
        }
    }
    return domain::ComputeForecast(deals);
}

v1::ForecastSnapshot ReadSnapshot(const pqxx::row& r) {
    v1::ForecastSnapshot s;
    if (!google::protobuf::util::JsonStringToMessage(r[1].c_str(), &s).ok()) {
        throw std::runtime_error("stored snapshot is not valid JSON");
    }
    s.set_id(r[0].as<std::string>());
    return s;
}

v1::ForecastSnapshot InsertSnapshot(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const std::string& tenant,
                                    const std::string& request_id, const std::string& id, const domain::Period& period,
                                    const std::string& currency, const std::string& trigger) {
    const domain::Forecast f = ComputeForecastIn(db, tx, tenant, ForecastQuery{period, currency, "", ""});
    v1::ForecastSnapshot s;
    s.set_id(id);
    FillPeriod(s.mutable_period(), period);
    s.set_currency_code(currency);
    s.set_trigger(trigger);
    FillFigures(s.mutable_totals(), f.totals);
    for (const auto& [owner, figures] : f.by_owner) {
        v1::ForecastLine* line = s.add_by_owner();
        line->set_owner_id(owner);
        FillFigures(line->mutable_figures(), figures);
    }
    const pqxx::result now = db.Exec(tx, sql::kNowMicros);
    SetTime(s.mutable_take_time(), now[0][0]);
    std::string body;
    if (!google::protobuf::util::MessageToJsonString(s, &body).ok()) throw std::runtime_error("snapshot to JSON");
    db.Exec(tx, sql::kInsertSnapshot, tenant, id, PeriodText(period.type), domain::FormatDate(period.first),
            domain::FormatDate(period.last), currency, MicrosText(s.take_time()), trigger, body);
    ev::ForecastSnapshotTaken event;
    *event.mutable_snapshot() = s;
    Emit(outbox, tx, tenant, request_id, "forecast_snapshot", id, 1, event, s.take_time());
    return s;
}

}  // namespace

Repository::Repository(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

// ==== pipelines ======================================================================================================

v1::Pipeline Repository::CreatePipeline(const RequestContext& rc, const std::string& name,
                                        const std::vector<domain::StageSpec>& stages, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, rc.tenant_id, "CreatePipeline", request_id, id)) {
            return LoadPipeline(db_, tx, rc.tenant_id, *first);
        }
        EnsureDefaultPipeline(db_, outbox_, tx, rc);  // the tenant's first pipeline is always the default one
        bool inserted = false;
        return InsertPipeline(db_, outbox_, tx, rc, id, name, stages, false, inserted);
    });
}

v1::Pipeline Repository::GetPipeline(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadPipeline(db_, tx, rc.tenant_id, id); });
}

v1::Pipeline Repository::GetDefaultPipeline(const RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return EnsureDefaultPipeline(db_, outbox_, tx, rc); });
}

Page<v1::Pipeline> Repository::ListPipelines(const RequestContext& rc, int page_size, const std::string& token) {
    const std::string scope = Scope({"ListPipelines"});
    const Cursor cursor = DecodeCursor(rc.tenant_id, token, scope, false);
    std::vector<v1::Pipeline> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (token.empty()) EnsureDefaultPipeline(db_, outbox_, tx, rc);
        std::vector<v1::Pipeline> out;
        for (const auto& row :
             db_.Exec(tx, sql::kListPipelines, rc.tenant_id, cursor.micros, cursor.id, page_size + 1)) {
            out.push_back(ReadPipeline(db_, tx, rc.tenant_id, row));
        }
        return out;
    });
    return MakePage(std::move(items), page_size, rc.tenant_id, scope, [](const v1::Pipeline& p) {
        return std::vector<std::string>{std::to_string(Micros(p.create_time())), p.id()};
    });
}

namespace {
v1::Opportunity ChangeStage(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const RequestContext& rc,
                            const v1::Opportunity& current, const StageRow& target, int probability,
                            domain::DealStatus status, const std::string& reason,
                            std::optional<std::int64_t> final_amount, int version_step);
}  // namespace

PipelineUpdate Repository::UpdatePipeline(const RequestContext& rc, const std::string& id, const PipelineChange& change,
                                          const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        // The pipeline row lock serializes this update with opportunity creates and moves into its stages (they take
        // it FOR SHARE first), so no deal enters a stage while it is being removed.
        const v1::Pipeline current = LoadPipeline(db_, tx, t, id, true);
        CheckEtag(etag, current.version());
        PipelineUpdate result;
        std::vector<std::string> changed;
        if (change.name && *change.name != current.name()) changed.push_back("name");
        domain::StagePlan plan;
        std::vector<std::string> added_ids;
        std::map<std::string, std::pair<std::string, int>> moves;  // removed stage -> (target, moved count)
        if (change.stages) {
            const std::vector<domain::StageSpec>& requested = *change.stages;
            std::vector<domain::CurrentStage> stored;
            std::map<std::string, const v1::Stage*> by_id;
            for (const auto& s : current.stages()) {
                stored.push_back({s.id(), s.name(), static_cast<domain::Category>(s.forecast_category()), 0});
                by_id[s.id()] = &s;
            }
            std::vector<std::string> removal_ids;
            for (const auto& r : change.removals) {
                if (by_id.contains(r.stage_id)) removal_ids.push_back(r.stage_id);
            }
            if (!removal_ids.empty()) {
                std::map<std::string, long> open;
                for (const auto& row : db_.Exec(tx, sql::kOpenPerStage, t, id, UuidArray(removal_ids))) {
                    open[row[0].as<std::string>()] = row[1].as<long>();
                }
                for (auto& s : stored) s.open_opportunities = open.contains(s.id) ? open[s.id] : 0;
            }
            common::Violations violations;
            plan = domain::PlanStageChanges(stored, requested, change.removals, violations);
            violations.ThrowIfAny();

            bool stage_changed = plan.added || plan.reordered || !plan.removed.empty();
            for (const auto& s : requested) {
                if (s.id.empty()) continue;
                const v1::Stage& c = *by_id.at(s.id);
                stage_changed = stage_changed || s.name != c.name() || s.probability != c.probability() ||
                                static_cast<int>(s.category) != static_cast<int>(c.forecast_category());
            }
            if (stage_changed) {
                changed.push_back("stages");
                for (const auto& removed : plan.removed) db_.Exec(tx, sql::kArchiveStage, t, removed);
                db_.Exec(tx, sql::kShiftStages, t, id);
                for (std::size_t i = 0; i < requested.size(); ++i) {
                    const domain::StageSpec& s = requested[i];
                    const char* category = domain::CategoryText(s.category);
                    if (s.id.empty()) {
                        added_ids.push_back(common::NewUuid());
                        db_.Exec(tx, sql::kInsertStage, t, added_ids.back(), id, static_cast<int>(i), s.name,
                                 s.probability, category);
                    } else {
                        db_.Exec(tx, sql::kUpdateStage, t, s.id, s.name, s.probability, category, static_cast<int>(i));
                    }
                }
                // The open deals of each removed stage go to its target, exactly as MoveOpportunityStage moves them.
                for (const auto& r : change.removals) {
                    if (std::find(plan.removed.begin(), plan.removed.end(), r.stage_id) == plan.removed.end()) continue;
                    auto& [target_id, moved] = moves[r.stage_id];
                    target_id = r.target_id;
                    if (r.target_id.empty()) continue;
                    const std::optional<StageRow> target = LoadStage(db_, tx, t, r.target_id);
                    if (!target || target->archived || !domain::IsOpen(target->category)) {
                        throw std::logic_error("a planned target stage is not a current open stage");
                    }
                    for (const auto& row : db_.Exec(tx, sql::kOpenInStage, t, id, r.stage_id)) {
                        const v1::Opportunity deal = LoadOpportunity(db_, tx, t, row[0].as<std::string>());
                        if (domain::CheckCommitDate(target->category, !deal.expected_close_date().empty())) {
                            throw ApiError::FailedPrecondition("the open opportunity " + deal.id() +
                                                                   " of the removed stage has no expected close "
                                                                   "date, which the commit stage " +
                                                                   target->name +
                                                                   " needs; set one or pick "
                                                                   "another target",
                                                               "CLOSE_DATE_REQUIRED");
                        }
                        ChangeStage(db_, outbox_, tx, rc, deal, *target, target->probability, domain::DealStatus::kOpen,
                                    "", std::nullopt, 1);
                        ++moved;
                        ++result.moved_opportunities;
                    }
                }
            }
        }
        if (changed.empty()) {
            result.pipeline = current;
            return result;
        }
        db_.Exec(tx, sql::kTouchPipeline, t, id, change.name.value_or(current.name()));
        result.pipeline = LoadPipeline(db_, tx, t, id);
        const v1::Pipeline& updated = result.pipeline;
        ev::PipelineUpdated event;
        *event.mutable_pipeline() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        for (const auto& s : updated.stages()) {
            if (std::find(added_ids.begin(), added_ids.end(), s.id()) != added_ids.end()) *event.add_added_stages() = s;
        }
        for (const auto& s : updated.archived_stages()) {
            const auto move = moves.find(s.id());
            if (move == moves.end()) continue;
            ev::RemovedStage* removed = event.add_removed_stages();
            *removed->mutable_stage() = s;
            removed->set_moved_to_stage_id(move->second.second > 0 ? move->second.first : "");
            removed->set_moved_opportunity_count(move->second.second);
        }
        event.set_stages_reordered(plan.reordered);
        Emit(outbox_, tx, rc, "pipeline", id, updated.version(), event, updated.update_time());
        return result;
    });
}

// ==== opportunities ==================================================================================================

v1::Opportunity Repository::CreateOpportunity(const RequestContext& rc, const v1::Opportunity& in,
                                              const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, t, "CreateOpportunity", request_id, id)) {
            return LoadOpportunity(db_, tx, t, *first);
        }
        std::string pipeline_id = in.pipeline_id();
        if (pipeline_id.empty()) {
            pipeline_id = EnsureDefaultPipeline(db_, outbox_, tx, rc).id();
        } else {
            EnsureTenant(db_, tx, t);
            if (db_.Exec(tx, sql::kGetPipeline, t, pipeline_id).empty()) {
                throw ApiError::InvalidArgument("opportunity.pipeline_id", "no pipeline with this id");
            }
        }
        db_.Exec(tx, sql::kLockPipelineShared, t, pipeline_id);  // stages stay as read until commit
        StageRow stage;
        if (in.stage_id().empty()) {
            const pqxx::result first_stage = db_.Exec(tx, sql::kFirstStage, t, pipeline_id);
            stage = StageRow{first_stage[0][0].as<std::string>(), first_stage[0][1].as<std::string>(), pipeline_id,
                             first_stage[0][2].as<int>(), domain::ParseCategory(first_stage[0][3].as<std::string>())};
        } else {
            auto found = LoadStage(db_, tx, t, in.stage_id());
            if (!found || found->pipeline_id != pipeline_id) {
                throw ApiError::InvalidArgument("opportunity.stage_id", "not a stage of the opportunity's pipeline");
            }
            if (found->archived) {
                throw ApiError::InvalidArgument("opportunity.stage_id", "the stage was removed from the pipeline");
            }
            if (!domain::IsOpen(found->category)) {
                throw ApiError::InvalidArgument("opportunity.stage_id",
                                                "an opportunity starts in an open stage; close it with "
                                                "WinOpportunity or LoseOpportunity");
            }
            stage = *found;
        }
        ThrowRule(domain::CheckCommitDate(stage.category, !in.expected_close_date().empty()));
        const int probability = in.probability() > 0 ? in.probability() : stage.probability;
        const std::string owner = in.owner_id().empty() ? rc.user_id : in.owner_id();
        db_.Exec(tx, sql::kInsertOpportunity, t, id, in.name(), pipeline_id, stage.id, probability,
                 in.amount().amount_minor(), in.amount().currency_code(), common::NullIfEmpty(in.expected_close_date()),
                 owner, common::NullIfEmpty(in.contact_id()), common::NullIfEmpty(in.company_id()),
                 in.source_campaign_id(), common::NullIfEmpty(in.lead_id()), in.description());
        db_.Exec(tx, sql::kInsertHistory, t, id, stage.id, stage.name, domain::CategoryText(stage.category),
                 probability, rc.user_id);
        v1::Opportunity created = LoadOpportunity(db_, tx, t, id);
        ev::OpportunityCreated event;
        *event.mutable_opportunity() = created;
        Emit(outbox_, tx, rc, "opportunity", id, created.version(), event, created.create_time());
        return created;
    });
}

v1::Opportunity Repository::GetOpportunity(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadOpportunity(db_, tx, rc.tenant_id, id); });
}

std::optional<v1::Opportunity> Repository::FindCreatedOpportunity(const RequestContext& rc,
                                                                  const std::string& request_id) {
    if (request_id.empty()) return std::nullopt;
    return db_.InTenant(rc, [&](pqxx::work& tx) -> std::optional<v1::Opportunity> {
        const pqxx::result rows = db_.Exec(tx, sql::kClaimedResource, rc.tenant_id, "CreateOpportunity", request_id);
        if (rows.empty()) return std::nullopt;
        return LoadOpportunity(db_, tx, rc.tenant_id, rows[0][0].as<std::string>());
    });
}

Page<v1::Opportunity> Repository::ListOpportunities(const RequestContext& rc, const OpportunityQuery& q) {
    const std::string scope = Scope({"ListOpportunities", q.pipeline_id, q.stage_id, q.owner_id, q.status, q.close_from,
                                     q.close_to, q.contact_id, q.company_id, q.by_close_date, q.show_deleted});
    std::vector<std::string> keys = {"", ""};
    if (!q.page_token.empty()) keys = common::DecodePageToken(q.page_token, rc.tenant_id, scope, 2);
    std::vector<v1::Opportunity> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        pqxx::result rows;
        if (q.by_close_date) {
            const std::string after_date = q.page_token.empty() ? "0001-01-01" : keys[0];
            const std::string after_id = q.page_token.empty() ? kNilUuid : keys[1];
            rows = db_.Exec(tx, sql::kListOpportunitiesByClose, t, common::NullIfEmpty(q.pipeline_id),
                            common::NullIfEmpty(q.stage_id), common::NullIfEmpty(q.owner_id),
                            common::NullIfEmpty(q.status), common::NullIfEmpty(q.close_from),
                            common::NullIfEmpty(q.close_to), q.show_deleted, common::NullIfEmpty(q.contact_id),
                            common::NullIfEmpty(q.company_id), after_date, after_id, q.page_size + 1);
        } else {
            const Cursor c =
                q.page_token.empty() ? Cursor{std::to_string(kMinMicros), kNilUuid} : Cursor{keys[0], keys[1]};
            rows = db_.Exec(tx, sql::kListOpportunities, t, common::NullIfEmpty(q.pipeline_id),
                            common::NullIfEmpty(q.stage_id), common::NullIfEmpty(q.owner_id),
                            common::NullIfEmpty(q.status), common::NullIfEmpty(q.close_from),
                            common::NullIfEmpty(q.close_to), q.show_deleted, common::NullIfEmpty(q.contact_id),
                            common::NullIfEmpty(q.company_id), c.micros, c.id, q.page_size + 1);
        }
        std::vector<v1::Opportunity> out;
        for (const auto& r : rows) out.push_back(ReadOpportunity(r));
        return out;
    });
    const bool by_close = q.by_close_date;
    return MakePage(std::move(items), q.page_size, rc.tenant_id, scope, [by_close](const v1::Opportunity& o) {
        return std::vector<std::string>{by_close ? o.expected_close_date() : std::to_string(Micros(o.create_time())),
                                        o.id()};
    });
}

v1::Opportunity Repository::UpdateOpportunity(const RequestContext& rc, const v1::Opportunity& in,
                                              const std::vector<std::string>& paths, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Opportunity current = LoadOpportunity(db_, tx, t, in.id(), true);
        CheckEtag(etag, current.version());
        ThrowRule(domain::CheckOpen(StateOf(current)));
        v1::Opportunity next = current;
        for (const auto& p : paths) {
            if (p == "name") next.set_name(in.name());
            if (p == "amount") {
                if (!in.amount().currency_code().empty() &&
                    in.amount().currency_code() != current.amount().currency_code()) {
                    throw ApiError::InvalidArgument(
                        "opportunity.amount.currency_code",
                        "the currency cannot change (it is " + current.amount().currency_code() + ")");
                }
                next.mutable_amount()->set_amount_minor(in.amount().amount_minor());
            }
            if (p == "probability") next.set_probability(in.probability());
            if (p == "expected_close_date") next.set_expected_close_date(in.expected_close_date());
            if (p == "owner_id") next.set_owner_id(in.owner_id());
            if (p == "contact_id") next.set_contact_id(in.contact_id());
            if (p == "company_id") next.set_company_id(in.company_id());
            if (p == "source_campaign_id") next.set_source_campaign_id(in.source_campaign_id());
            if (p == "lead_id") next.set_lead_id(in.lead_id());
            if (p == "description") next.set_description(in.description());
        }
        ThrowRule(domain::CheckCommitDate(static_cast<domain::Category>(current.forecast_category()),
                                          !next.expected_close_date().empty()));
        const std::vector<std::string> changed = ChangedOpportunityPaths(current, next);
        if (changed.empty()) return current;
        WriteOpportunity(db_, tx, t, next, current.version());
        v1::Opportunity updated = LoadOpportunity(db_, tx, t, in.id());
        ev::OpportunityUpdated event;
        *event.mutable_opportunity() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        *event.mutable_previous_amount() = current.amount();
        Emit(outbox_, tx, rc, "opportunity", updated.id(), updated.version(), event, updated.update_time());
        return updated;
    });
}

namespace {

// Moves `current` into `target` (history rows, stage columns), emits OpportunityStageChanged at version+1 and
// returns the stored opportunity. `status` and `reason` close it when not OPEN.
v1::Opportunity ChangeStage(common::Db& db, common::Outbox& outbox, pqxx::work& tx, const RequestContext& rc,
                            const v1::Opportunity& current, const StageRow& target, int probability,
                            domain::DealStatus status, const std::string& reason,
                            std::optional<std::int64_t> final_amount, int version_step) {
    const std::string& t = rc.tenant_id;
    const pqxx::result rows =
        db.Exec(tx, sql::kMoveOpportunity, t, current.id(), target.id, probability, domain::StatusText(status), reason,
                final_amount.value_or(current.amount().amount_minor()), current.version(), version_step);
    if (rows.empty()) throw ApiError::Aborted("the opportunity changed concurrently; read it again and retry");
    db.Exec(tx, sql::kCloseHistory, t, current.id());
    db.Exec(tx, sql::kInsertHistory, t, current.id(), target.id, target.name, domain::CategoryText(target.category),
            probability, rc.user_id);
    v1::Opportunity moved = LoadOpportunity(db, tx, t, current.id());
    ev::OpportunityStageChanged event;
    event.set_opportunity_id(current.id());
    event.set_pipeline_id(current.pipeline_id());
    event.set_from_stage_id(current.stage_id());
    event.set_from_stage_name(current.stage_name());
    event.set_from_forecast_category(current.forecast_category());
    event.set_from_probability(current.probability());
    event.set_to_stage_id(moved.stage_id());
    event.set_to_stage_name(moved.stage_name());
    event.set_to_forecast_category(moved.forecast_category());
    event.set_to_probability(moved.probability());
    *event.mutable_amount() = moved.amount();
    *event.mutable_from_stage_enter_time() = current.stage_enter_time();
    event.set_time_in_from_stage_seconds((Micros(moved.stage_enter_time()) - Micros(current.stage_enter_time())) /
                                         1000000);
    *event.mutable_opportunity() = moved;
    event.set_changed_by(rc.user_id);
    Emit(outbox, tx, rc, "opportunity", current.id(), current.version() + 1, event, moved.stage_enter_time());
    return moved;
}

}  // namespace

v1::Opportunity Repository::MoveStage(const RequestContext& rc, const std::string& id, const std::string& stage_id,
                                      int probability, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        // Lock order pipeline -> opportunity, as UpdatePipeline: the target stage cannot be removed under this move.
        const std::string pipeline_id = LoadOpportunity(db_, tx, rc.tenant_id, id).pipeline_id();
        db_.Exec(tx, sql::kLockPipelineShared, rc.tenant_id, pipeline_id);
        const v1::Opportunity current = LoadOpportunity(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, current.version());
        const auto target = LoadStage(db_, tx, rc.tenant_id, stage_id);
        if (!target || target->pipeline_id != current.pipeline_id()) {
            throw ApiError::InvalidArgument("stage_id", "not a stage of the opportunity's pipeline");
        }
        if (target->archived) throw ApiError::InvalidArgument("stage_id", "the stage was removed from the pipeline");
        ThrowRule(domain::CheckMove(StateOf(current), target->category));
        if (target->id == current.stage_id()) {
            throw ApiError::FailedPrecondition("the opportunity is already in this stage", "SAME_STAGE");
        }
        return ChangeStage(db_, outbox_, tx, rc, current, *target, probability > 0 ? probability : target->probability,
                           domain::DealStatus::kOpen, "", std::nullopt, 1);
    });
}

v1::Opportunity Repository::Close(const RequestContext& rc, const std::string& id, bool won, const std::string& reason,
                                  std::optional<std::int64_t> final_amount, const std::string& final_currency,
                                  const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Opportunity current = LoadOpportunity(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, current.version());
        ThrowRule(domain::CheckOpen(StateOf(current)));
        if (final_amount && !final_currency.empty() && final_currency != current.amount().currency_code()) {
            throw ApiError::InvalidArgument("amount.currency_code",
                                            "must be the opportunity's currency " + current.amount().currency_code());
        }
        const StageRow target = StageByCategory(db_, tx, rc.tenant_id, current.pipeline_id(),
                                                won ? domain::Category::kClosedWon : domain::Category::kClosedLost);
        // Two events, two versions: OpportunityStageChanged (version + 1) then OpportunityWon/Lost (version + 2).
        const v1::Opportunity closed =
            ChangeStage(db_, outbox_, tx, rc, current, target, won ? 100 : 0,
                        won ? domain::DealStatus::kWon : domain::DealStatus::kLost, won ? "" : reason, final_amount, 2);
        const std::int64_t cycle = (Micros(closed.close_time()) - Micros(closed.create_time())) / 1000000;
        if (won) {
            ev::OpportunityWon event;
            *event.mutable_opportunity() = closed;
            *event.mutable_amount() = closed.amount();
            *event.mutable_close_time() = closed.close_time();
            event.set_sales_cycle_seconds(cycle);
            Emit(outbox_, tx, rc, "opportunity", id, closed.version(), event, closed.close_time());
        } else {
            ev::OpportunityLost event;
            *event.mutable_opportunity() = closed;
            event.set_reason(reason);
            *event.mutable_amount() = closed.amount();
            *event.mutable_close_time() = closed.close_time();
            event.set_sales_cycle_seconds(cycle);
            Emit(outbox_, tx, rc, "opportunity", id, closed.version(), event, closed.close_time());
        }
        return closed;
    });
}

v1::Opportunity Repository::DeleteOpportunity(const RequestContext& rc, const std::string& id,
                                              const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Opportunity current = LoadOpportunity(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, current.version());
        if (current.has_delete_time()) return current;
        db_.Exec(tx, sql::kDeleteOpportunity, rc.tenant_id, id);
        v1::Opportunity deleted = LoadOpportunity(db_, tx, rc.tenant_id, id);
        ev::OpportunityDeleted event;
        *event.mutable_opportunity() = deleted;
        Emit(outbox_, tx, rc, "opportunity", id, deleted.version(), event, deleted.delete_time());
        return deleted;
    });
}

std::vector<v1::StageHistoryEntry> Repository::ListStageHistory(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        LoadOpportunity(db_, tx, rc.tenant_id, id);
        std::vector<v1::StageHistoryEntry> out;
        for (const auto& r : db_.Exec(tx, sql::kListHistory, rc.tenant_id, id)) {
            v1::StageHistoryEntry e;
            e.set_stage_id(r[0].as<std::string>());
            e.set_stage_name(r[1].as<std::string>());
            e.set_forecast_category(CategoryOf(r[2].as<std::string>()));
            e.set_probability(r[3].as<int>());
            SetTime(e.mutable_enter_time(), r[4]);
            SetTimeIf(&e, &v1::StageHistoryEntry::mutable_exit_time, r[5]);
            e.set_duration_seconds(r[6].as<std::int64_t>());
            e.set_changed_by(r[7].as<std::string>());
            out.push_back(std::move(e));
        }
        return out;
    });
}

// ==== activities =====================================================================================================

v1::Activity Repository::CreateActivity(const RequestContext& rc, const v1::Activity& in,
                                        const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, t, "CreateActivity", request_id, id)) {
            return LoadActivity(db_, tx, t, *first);
        }
        if (!in.opportunity_id().empty() && db_.Exec(tx, sql::kGetOpportunity, t, in.opportunity_id()).empty()) {
            throw ApiError::InvalidArgument("activity.opportunity_id", "no opportunity with this id");
        }
        std::string due_buf, remind_buf;
        db_.Exec(tx, sql::kInsertActivity, t, id, ActivityTypeText(in.type()), in.subject(), in.description(),
                 common::NullIfEmpty(in.lead_id()), common::NullIfEmpty(in.contact_id()),
                 common::NullIfEmpty(in.company_id()), common::NullIfEmpty(in.opportunity_id()),
                 OptionalMicros(in, in.has_due_time(), in.due_time(), due_buf),
                 OptionalMicros(in, in.has_remind_time(), in.remind_time(), remind_buf),
                 in.owner_id().empty() ? rc.user_id : in.owner_id());
        v1::Activity created = LoadActivity(db_, tx, t, id);
        ev::ActivityCreated event;
        *event.mutable_activity() = created;
        Emit(outbox_, tx, rc, "activity", id, created.version(), event, created.create_time());
        return created;
    });
}

v1::Activity Repository::GetActivity(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadActivity(db_, tx, rc.tenant_id, id); });
}

v1::Activity Repository::UpdateActivity(const RequestContext& rc, const v1::Activity& in,
                                        const std::vector<std::string>& paths, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Activity current = LoadActivity(db_, tx, t, in.id(), true);
        CheckEtag(etag, current.version());
        if (current.status() != v1::ACTIVITY_STATUS_OPEN) {
            throw ApiError::FailedPrecondition("the activity is completed", "ACTIVITY_COMPLETED");
        }
        v1::Activity next = current;
        for (const auto& p : paths) {
            if (p == "subject") next.set_subject(in.subject());
            if (p == "description") next.set_description(in.description());
            if (p == "owner_id") next.set_owner_id(in.owner_id());
            if (p == "due_time") {
                if (in.has_due_time())
                    *next.mutable_due_time() = in.due_time();
                else
                    next.clear_due_time();
            }
            if (p == "remind_time") {
                if (in.has_remind_time())
                    *next.mutable_remind_time() = in.remind_time();
                else
                    next.clear_remind_time();
            }
        }
        if (next.has_remind_time() && next.has_due_time() && Micros(next.remind_time()) > Micros(next.due_time())) {
            throw ApiError::InvalidArgument("activity.remind_time", "must not be after due_time");
        }
        std::vector<std::string> changed;
        if (next.subject() != current.subject()) changed.push_back("subject");
        if (next.description() != current.description()) changed.push_back("description");
        if (next.owner_id() != current.owner_id()) changed.push_back("owner_id");
        const bool due_changed = next.has_due_time() != current.has_due_time() ||
                                 (next.has_due_time() && Micros(next.due_time()) != Micros(current.due_time()));
        const bool remind_changed =
            next.has_remind_time() != current.has_remind_time() ||
            (next.has_remind_time() && Micros(next.remind_time()) != Micros(current.remind_time()));
        if (due_changed) changed.push_back("due_time");
        if (remind_changed) changed.push_back("remind_time");
        if (changed.empty()) return current;
        std::string due_buf, remind_buf;
        const pqxx::result rows =
            db_.Exec(tx, sql::kWriteActivity, t, in.id(), next.subject(), next.description(), next.owner_id(),
                     OptionalMicros(next, next.has_due_time(), next.due_time(), due_buf),
                     OptionalMicros(next, next.has_remind_time(), next.remind_time(), remind_buf),
                     due_changed || remind_changed, current.version());
        if (rows.empty()) throw ApiError::Aborted("the activity changed concurrently; read it again and retry");
        v1::Activity updated = LoadActivity(db_, tx, t, in.id());
        ev::ActivityUpdated event;
        *event.mutable_activity() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        Emit(outbox_, tx, rc, "activity", updated.id(), updated.version(), event, updated.update_time());
        return updated;
    });
}

v1::Activity Repository::CompleteActivity(const RequestContext& rc, const std::string& id, const std::string& outcome,
                                          const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Activity current = LoadActivity(db_, tx, rc.tenant_id, id, true);
        CheckEtag(etag, current.version());
        if (current.status() != v1::ACTIVITY_STATUS_OPEN) {
            throw ApiError::FailedPrecondition("the activity is already completed", "ACTIVITY_COMPLETED");
        }
        db_.Exec(tx, sql::kCompleteActivity, rc.tenant_id, id, outcome);
        v1::Activity done = LoadActivity(db_, tx, rc.tenant_id, id);
        ev::ActivityCompleted event;
        *event.mutable_activity() = done;
        Emit(outbox_, tx, rc, "activity", id, done.version(), event, done.complete_time());
        return done;
    });
}

Page<v1::Activity> Repository::ListActivities(const RequestContext& rc, v1::RecordType type,
                                              const std::string& record_id, int page_size,
                                              const std::string& page_token) {
    const std::string scope = Scope({"ListActivities", static_cast<int>(type), record_id});
    const Cursor c = DecodeCursor(rc.tenant_id, page_token, scope, true);
    const common::Sql* statement = &sql::kTimelineOpportunity;
    if (type == v1::RECORD_TYPE_LEAD) statement = &sql::kTimelineLead;
    if (type == v1::RECORD_TYPE_CONTACT) statement = &sql::kTimelineContact;
    if (type == v1::RECORD_TYPE_COMPANY) statement = &sql::kTimelineCompany;
    std::vector<v1::Activity> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (type == v1::RECORD_TYPE_OPPORTUNITY) LoadOpportunity(db_, tx, rc.tenant_id, record_id);
        std::vector<v1::Activity> out;
        for (const auto& r : db_.Exec(tx, *statement, rc.tenant_id, record_id, c.micros, c.id, page_size + 1)) {
            out.push_back(ReadActivity(r));
        }
        return out;
    });
    return MakePage(std::move(items), page_size, rc.tenant_id, scope, [](const v1::Activity& a) {
        return std::vector<std::string>{std::to_string(Micros(a.create_time())), a.id()};
    });
}

int Repository::PublishDueReminders(int limit) {
    // Discovery across tenants (read-only, scheduler policy), then one tenant transaction per tenant that claims the
    // rows with FOR UPDATE SKIP LOCKED, re-checks them, marks them and writes ActivityDue in the same transaction.
    std::map<std::string, std::vector<std::string>> due = db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kSchedulerOn);
        std::map<std::string, std::vector<std::string>> out;
        for (const auto& r : db_.Exec(tx, sql::kDueActivities, limit)) {
            out[r[0].as<std::string>()].push_back(r[1].as<std::string>());
        }
        return out;
    });
    int published = 0;
    for (const auto& [tenant, ids] : due) {
        std::string array = "{";
        for (std::size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + ids[i];
        array += "}";
        published += db_.InTenant(tenant, [&](pqxx::work& tx) {
            int n = 0;
            for (const auto& r : db_.Exec(tx, sql::kClaimDueActivities, tenant, array)) {
                const v1::Activity a = ReadActivity(r);
                ev::ActivityDue event;
                *event.mutable_activity() = a;
                if (a.has_due_time()) *event.mutable_due_time() = a.due_time();
                if (a.has_remind_time()) *event.mutable_remind_time() = a.remind_time();
                Emit(outbox_, tx, tenant, "", "activity", a.id(), a.version(), event, a.reminder_sent_time());
                ++n;
            }
            return n;
        });
    }
    return published;
}

// ==== products =======================================================================================================

v1::Product Repository::CreateProduct(const RequestContext& rc, const v1::Product& in, const std::string& request_id) {
    try {
        return db_.InTenant(rc, [&](pqxx::work& tx) {
            const std::string id = common::NewUuid();
            if (auto first = ClaimRequest(db_, tx, rc.tenant_id, "CreateProduct", request_id, id)) {
                return LoadProduct(db_, tx, rc.tenant_id, *first);
            }
            db_.Exec(tx, sql::kInsertProduct, rc.tenant_id, id, in.name(), in.sku(), in.description(), true);
            v1::Product created = LoadProduct(db_, tx, rc.tenant_id, id);
            ev::ProductCreated event;
            *event.mutable_product() = created;
            Emit(outbox_, tx, rc, "product", id, created.version(), event, created.create_time());
            return created;
        });
    } catch (const pqxx::unique_violation& e) {
        SkuTaken(e);
        throw;
    }
}

v1::Product Repository::GetProduct(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadProduct(db_, tx, rc.tenant_id, id); });
}

Page<v1::Product> Repository::ListProducts(const RequestContext& rc, bool active_only, int page_size,
                                           const std::string& page_token) {
    const std::string scope = Scope({"ListProducts", active_only});
    const Cursor c = DecodeCursor(rc.tenant_id, page_token, scope, false);
    std::vector<v1::Product> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::Product> out;
        for (const auto& r :
             db_.Exec(tx, sql::kListProducts, rc.tenant_id, active_only, c.micros, c.id, page_size + 1)) {
            out.push_back(ReadProduct(r));
        }
        return out;
    });
    return MakePage(std::move(items), page_size, rc.tenant_id, scope, [](const v1::Product& p) {
        return std::vector<std::string>{std::to_string(Micros(p.create_time())), p.id()};
    });
}

v1::Product Repository::UpdateProduct(const RequestContext& rc, const v1::Product& in,
                                      const std::vector<std::string>& paths, const std::string& etag) {
    try {
        return db_.InTenant(rc, [&](pqxx::work& tx) {
            const v1::Product current = LoadProduct(db_, tx, rc.tenant_id, in.id(), true);
            CheckEtag(etag, current.version());
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
            db_.Exec(tx, sql::kWriteProduct, rc.tenant_id, in.id(), next.name(), next.sku(), next.description(),
                     next.active());
            v1::Product updated = LoadProduct(db_, tx, rc.tenant_id, in.id());
            ev::ProductUpdated event;
            *event.mutable_product() = updated;
            for (const auto& p : changed) event.add_changed_paths(p);
            Emit(outbox_, tx, rc, "product", updated.id(), updated.version(), event, updated.update_time());
            return updated;
        });
    } catch (const pqxx::unique_violation& e) {
        SkuTaken(e);
        throw;
    }
}

v1::PriceBookEntry Repository::SetPriceBookEntry(const RequestContext& rc, const std::string& product_id,
                                                 const std::string& currency, std::int64_t unit_price) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        LoadProduct(db_, tx, rc.tenant_id, product_id, true);
        const pqxx::result before = db_.Exec(tx, sql::kGetPriceBookEntry, rc.tenant_id, product_id, currency);
        if (!before.empty() && before[0][2].as<std::int64_t>() == unit_price) return ReadEntry(before[0]);
        const v1::PriceBookEntry entry =
            ReadEntry(db_.Exec(tx, sql::kUpsertPriceBookEntry, rc.tenant_id, product_id, currency, unit_price)[0]);
        // The product's version moves with its prices, so the events of one product keep strictly rising versions.
        const pqxx::result version = db_.Exec(tx, sql::kBumpProduct, rc.tenant_id, product_id);
        ev::PriceBookEntrySet event;
        *event.mutable_entry() = entry;
        if (!before.empty()) *event.mutable_previous_unit_price() = ReadEntry(before[0]).unit_price();
        Emit(outbox_, tx, rc, "product", product_id, version[0][0].as<std::int64_t>(), event, entry.update_time());
        return entry;
    });
}

Page<v1::PriceBookEntry> Repository::ListPriceBookEntries(const RequestContext& rc, const std::string& product_id,
                                                          const std::string& currency, int page_size,
                                                          const std::string& page_token) {
    const std::string scope = Scope({"ListPriceBookEntries", product_id, currency});
    std::vector<std::string> keys = {kNilUuid, ""};
    if (!page_token.empty()) keys = common::DecodePageToken(page_token, rc.tenant_id, scope, 2);
    std::vector<v1::PriceBookEntry> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (!product_id.empty()) LoadProduct(db_, tx, rc.tenant_id, product_id);
        std::vector<v1::PriceBookEntry> out;
        for (const auto& r : db_.Exec(tx, sql::kListPriceBookEntries, rc.tenant_id, common::NullIfEmpty(product_id),
                                      common::NullIfEmpty(currency), keys[0], keys[1], page_size + 1)) {
            out.push_back(ReadEntry(r));
        }
        return out;
    });
    return MakePage(std::move(items), page_size, rc.tenant_id, scope, [](const v1::PriceBookEntry& e) {
        return std::vector<std::string>{e.product_id(), e.unit_price().currency_code()};
    });
}

// ==== quotes =========================================================================================================

v1::Quote Repository::CreateQuote(const RequestContext& rc, const QuoteSpec& spec, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, t, "CreateQuote", request_id, id)) {
            return LoadQuote(db_, tx, t, *first);
        }
        const pqxx::result opp = db_.Exec(tx, sql::kGetOpportunity, t, spec.opportunity_id);
        if (opp.empty()) throw ApiError::InvalidArgument("quote.opportunity_id", "no opportunity with this id");
        const v1::Opportunity o = ReadOpportunity(opp[0]);
        ThrowRule(domain::CheckOpen(StateOf(o)));
        v1::Quote q;
        q.set_currency_code(spec.currency.empty() ? o.amount().currency_code() : spec.currency);
        PriceQuote(db_, tx, t, spec.lines, q);
        db_.Exec(tx, sql::kInsertQuote, t, id, spec.opportunity_id, spec.title, q.currency_code(), LinesJson(q),
                 q.subtotal().amount_minor(), q.discount_total().amount_minor(), q.net_total().amount_minor(),
                 q.tax_total().amount_minor(), q.total().amount_minor(), q.max_discount_percent(),
                 common::NullIfEmpty(spec.valid_until));
        v1::Quote created = LoadQuote(db_, tx, t, id);
        ev::QuoteCreated event;
        *event.mutable_quote() = created;
        Emit(outbox_, tx, rc, "quote", id, created.version(), event, created.create_time());
        return created;
    });
}

v1::Quote Repository::GetQuote(const RequestContext& rc, const std::string& id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadQuote(db_, tx, rc.tenant_id, id); });
}

Page<v1::Quote> Repository::ListQuotes(const RequestContext& rc, const std::string& opportunity_id, int page_size,
                                       const std::string& page_token) {
    const std::string scope = Scope({"ListQuotes", opportunity_id});
    const Cursor c = DecodeCursor(rc.tenant_id, page_token, scope, true);
    std::vector<v1::Quote> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (!opportunity_id.empty()) LoadOpportunity(db_, tx, rc.tenant_id, opportunity_id);
        std::vector<v1::Quote> out;
        for (const auto& r :
             db_.Exec(tx, opportunity_id.empty() ? sql::kListQuotes : sql::kListQuotesOfOpportunity, rc.tenant_id,
                      common::NullIfEmpty(opportunity_id), c.micros, c.id, page_size + 1)) {
            out.push_back(ReadQuote(r));
        }
        return out;
    });
    return MakePage(std::move(items), page_size, rc.tenant_id, scope, [](const v1::Quote& q) {
        return std::vector<std::string>{std::to_string(Micros(q.create_time())), q.id()};
    });
}

v1::Quote Repository::UpdateQuote(const RequestContext& rc, const std::string& id,
                                  const std::optional<std::string>& title,
                                  const std::optional<std::string>& valid_until,
                                  const std::optional<std::vector<QuoteLineSpec>>& lines, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Quote current = LoadQuote(db_, tx, t, id, true);
        CheckEtag(etag, current.version());
        if (current.status() != v1::QUOTE_STATUS_DRAFT) {
            throw ApiError::FailedPrecondition("only draft quotes can be changed", "QUOTE_NOT_DRAFT");
        }
        v1::Quote next = current;
        std::vector<std::string> changed;
        if (title && *title != current.title()) {
            next.set_title(*title);
            changed.push_back("title");
        }
        if (valid_until && *valid_until != current.valid_until()) {
            next.set_valid_until(*valid_until);
            changed.push_back("valid_until");
        }
        if (lines) {
            PriceQuote(db_, tx, t, *lines, next);
            if (LinesJson(next) != LinesJson(current)) changed.push_back("line_items");
        }
        if (changed.empty()) return current;
        db_.Exec(tx, sql::kWriteQuote, t, id, next.title(), LinesJson(next), next.subtotal().amount_minor(),
                 next.discount_total().amount_minor(), next.net_total().amount_minor(), next.tax_total().amount_minor(),
                 next.total().amount_minor(), next.max_discount_percent(), common::NullIfEmpty(next.valid_until()));
        v1::Quote updated = LoadQuote(db_, tx, t, id);
        ev::QuoteUpdated event;
        *event.mutable_quote() = updated;
        for (const auto& p : changed) event.add_changed_paths(p);
        Emit(outbox_, tx, rc, "quote", id, updated.version(), event, updated.update_time());
        return updated;
    });
}

v1::Quote Repository::ChangeQuoteStatus(const RequestContext& rc, const std::string& id, const std::string& action,
                                        const std::string& reason, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Quote current = LoadQuote(db_, tx, t, id, true);
        CheckEtag(etag, current.version());
        const v1::QuoteStatus from = current.status();
        v1::QuoteStatus to = from;
        auto refuse = [&](const std::string& expected) {
            throw ApiError::FailedPrecondition(
                "the quote is " + std::string(QuoteStatusText(from)) + "; " + action + " needs " + expected,
                "QUOTE_STATUS");
        };
        if (action == "submit") {
            if (from != v1::QUOTE_STATUS_DRAFT) refuse("DRAFT");
            const auto threshold = domain::ParseFixed(Threshold(db_, tx, t), domain::kDiscountScale);
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
        const pqxx::result rows = db_.Exec(tx, sql::kSetQuoteStatus, t, id, QuoteStatusText(to),
                                           action == "approve" ? rc.user_id : current.approved_by(),
                                           action == "reject" ? reason : "", current.version());
        if (rows.empty()) throw ApiError::Aborted("the quote changed concurrently; read it again and retry");
        v1::Quote updated = LoadQuote(db_, tx, t, id);
        ev::QuoteStatusChanged event;
        *event.mutable_quote() = updated;
        event.set_from_status(from);
        event.set_to_status(to);
        event.set_changed_by(rc.user_id);
        Emit(outbox_, tx, rc, "quote", id, updated.version(), event, updated.update_time());
        return updated;
    });
}

std::pair<v1::Quote, v1::Opportunity> Repository::AcceptQuote(const RequestContext& rc, const std::string& id,
                                                              bool set_amount, const std::string& etag) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string& t = rc.tenant_id;
        const v1::Quote current = LoadQuote(db_, tx, t, id, true);
        CheckEtag(etag, current.version());
        if (current.status() != v1::QUOTE_STATUS_SENT) {
            throw ApiError::FailedPrecondition(
                "the quote is " + std::string(QuoteStatusText(current.status())) + "; accept needs SENT",
                "QUOTE_STATUS");
        }
        const v1::Opportunity opp = LoadOpportunity(db_, tx, t, current.opportunity_id(), true);
        if (set_amount) {
            ThrowRule(domain::CheckOpen(StateOf(opp)));
            if (opp.amount().currency_code() != current.currency_code()) {
                throw ApiError::FailedPrecondition("the quote's currency differs from the opportunity's",
                                                   "CURRENCY_MISMATCH");
            }
        }
        const pqxx::result rows =
            db_.Exec(tx, sql::kSetQuoteStatus, t, id, "ACCEPTED", current.approved_by(), "", current.version());
        if (rows.empty()) throw ApiError::Aborted("the quote changed concurrently; read it again and retry");
        const v1::Quote accepted = LoadQuote(db_, tx, t, id);
        ev::QuoteAccepted event;
        *event.mutable_quote() = accepted;
        event.set_opportunity_id(opp.id());
        event.set_opportunity_amount_set(set_amount);
        Emit(outbox_, tx, rc, "quote", id, accepted.version(), event, accepted.update_time());
        if (!set_amount) return std::make_pair(accepted, opp);
        v1::Opportunity next = opp;
        next.mutable_amount()->set_amount_minor(accepted.total().amount_minor());
        next.set_accepted_quote_id(accepted.id());
        const std::vector<std::string> changed = ChangedOpportunityPaths(opp, next);
        WriteOpportunity(db_, tx, t, next, opp.version());
        v1::Opportunity updated = LoadOpportunity(db_, tx, t, opp.id());
        ev::OpportunityUpdated changed_event;
        *changed_event.mutable_opportunity() = updated;
        for (const auto& p : changed) changed_event.add_changed_paths(p);
        *changed_event.mutable_previous_amount() = opp.amount();
        Emit(outbox_, tx, rc, "opportunity", updated.id(), updated.version(), changed_event, updated.update_time());
        return std::make_pair(accepted, updated);
    });
}

// ==== settings =======================================================================================================

v1::SalesSettings Repository::GetSettings(const RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::SalesSettings s;
        const pqxx::result rows = db_.Exec(tx, sql::kGetSettings, rc.tenant_id);
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

v1::SalesSettings Repository::UpdateSettings(const RequestContext& rc, const std::string& threshold,
                                             const std::string& etag) {
    const v1::SalesSettings s = db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result before = db_.Exec(tx, sql::kGetSettingsForUpdate, rc.tenant_id);
        CheckEtag(etag, before.empty() ? 0 : before[0][1].as<std::int64_t>());
        const pqxx::result rows = db_.Exec(tx, sql::kUpsertSettings, rc.tenant_id, threshold);
        v1::SalesSettings out;
        out.set_discount_approval_threshold_percent(rows[0][0].as<std::string>());
        const std::int64_t version = rows[0][1].as<std::int64_t>();
        out.set_etag(common::MakeEtag(version));
        SetTime(out.mutable_update_time(), rows[0][2]);
        ev::SalesSettingsUpdated event;
        *event.mutable_settings() = out;
        Emit(outbox_, tx, rc, "sales_settings", rc.tenant_id, version, event, out.update_time());
        return out;
    });
    return s;
}

// ==== forecast =======================================================================================================

v1::GetForecastResponse Repository::GetForecast(const RequestContext& rc, const ForecastQuery& q) {
    const domain::Forecast f = db_.InTenant(rc, [&](pqxx::work& tx) {
        if (!q.pipeline_id.empty()) LoadPipeline(db_, tx, rc.tenant_id, q.pipeline_id);
        return ComputeForecastIn(db_, tx, rc.tenant_id, q);
    });
    v1::GetForecastResponse out;
    FillPeriod(out.mutable_period(), q.period);
    out.set_currency_code(q.currency);
    FillFigures(out.mutable_totals(), f.totals);
    for (const auto& [owner, figures] : f.by_owner) {
        v1::ForecastLine* line = out.add_by_owner();
        line->set_owner_id(owner);
        FillFigures(line->mutable_figures(), figures);
    }
    return out;
}

v1::ForecastSnapshot Repository::TakeSnapshot(const RequestContext& rc, const domain::Period& period,
                                              const std::string& currency, const std::string& request_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const std::string id = common::NewUuid();
        if (auto first = ClaimRequest(db_, tx, rc.tenant_id, "TakeForecastSnapshot", request_id, id)) {
            const pqxx::result rows = db_.Exec(tx, sql::kGetSnapshot, rc.tenant_id, *first);
            return ReadSnapshot(rows.at(0));
        }
        return InsertSnapshot(db_, outbox_, tx, rc.tenant_id, rc.request_id, id, period, currency, "manual");
    });
}

Page<v1::ForecastSnapshot> Repository::ListSnapshots(const RequestContext& rc, const domain::Period& period,
                                                     const std::string& currency, int page_size,
                                                     const std::string& page_token) {
    const std::string scope =
        Scope({"ListForecastSnapshots", PeriodText(period.type), domain::FormatDate(period.first), currency});
    const Cursor c = DecodeCursor(rc.tenant_id, page_token, scope, true);
    std::vector<v1::ForecastSnapshot> items = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::vector<v1::ForecastSnapshot> out;
        for (const auto& r : db_.Exec(tx, sql::kListSnapshots, rc.tenant_id, PeriodText(period.type),
                                      domain::FormatDate(period.first), currency, c.micros, c.id, page_size + 1)) {
            out.push_back(ReadSnapshot(r));
        }
        return out;
    });
    return MakePage(std::move(items), page_size, rc.tenant_id, scope, [](const v1::ForecastSnapshot& s) {
        return std::vector<std::string>{std::to_string(Micros(s.take_time())), s.id()};
    });
}

Accuracy Repository::GetAccuracy(const RequestContext& rc, const std::string& snapshot_id) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const pqxx::result rows = db_.Exec(tx, sql::kGetSnapshot, rc.tenant_id, snapshot_id);
        if (rows.empty()) throw ApiError::NotFound("forecast snapshot", snapshot_id);
        Accuracy out;
        out.snapshot = ReadSnapshot(rows[0]);
        const auto first = domain::ParseDate(out.snapshot.period().start_date());
        const auto type = static_cast<domain::PeriodType>(out.snapshot.period().type());
        const domain::Period period = domain::PeriodContaining(type, first.value_or(0));
        const domain::Forecast now =
            ComputeForecastIn(db_, tx, rc.tenant_id, ForecastQuery{period, out.snapshot.currency_code(), "", ""});
        auto fill = [](v1::ForecastAccuracy* a, const std::string& owner, const domain::Accuracy& d) {
            a->set_owner_id(owner);
            a->set_forecast_amount(d.forecast);
            a->set_commit_amount(d.commit);
            a->set_actual_won_amount(d.actual_won);
            a->set_error_amount(d.error);
            a->set_accuracy_basis_points(d.basis_points);
        };
        fill(&out.total, "", domain::ComputeAccuracy(FiguresOf(out.snapshot.totals()), now.totals.closed_won));
        std::map<std::string, domain::Figures> owners;
        for (const auto& line : out.snapshot.by_owner()) owners[line.owner_id()] = FiguresOf(line.figures());
        for (const auto& [owner, figures] : now.by_owner) owners.try_emplace(owner);
        for (const auto& [owner, figures] : owners) {
            auto it = now.by_owner.find(owner);
            const std::int64_t won = it == now.by_owner.end() ? 0 : it->second.closed_won;
            v1::ForecastAccuracy a;
            fill(&a, owner, domain::ComputeAccuracy(figures, won));
            out.by_owner.push_back(std::move(a));
        }
        return out;
    });
}

int Repository::TakeScheduledSnapshots(long interval_seconds) {
    const std::vector<std::string> tenants = db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kSchedulerOn);
        std::vector<std::string> out;
        for (const auto& r : db_.Exec(tx, sql::kListSalesTenants)) out.push_back(r[0].as<std::string>());
        return out;
    });
    int taken = 0;
    for (const auto& tenant : tenants) {
        taken += db_.InTenant(tenant, [&](pqxx::work& tx) {
            // One replica at a time per tenant; the others skip it this round.
            if (!db_.Exec(tx, sql::kTryTenantLock, "sales.snapshots:" + tenant)[0][0].as<bool>()) return 0;
            const domain::Days today = db_.Exec(tx, sql::kTodayDays)[0][0].as<long>();
            int n = 0;
            for (const auto type : {domain::PeriodType::kMonth, domain::PeriodType::kQuarter}) {
                const domain::Period period = domain::PeriodContaining(type, today);
                const std::string first = domain::FormatDate(period.first), last = domain::FormatDate(period.last);
                for (const auto& c : db_.Exec(tx, sql::kPeriodCurrencies, tenant, first, last)) {
                    const std::string currency = c[0].as<std::string>();
                    const pqxx::result fresh = db_.Exec(tx, sql::kRecentScheduledSnapshot, tenant, PeriodText(type),
                                                        first, currency, interval_seconds);
                    if (!fresh.empty()) continue;
                    InsertSnapshot(db_, outbox_, tx, tenant, "", common::NewUuid(), period, currency, "scheduled");
                    ++n;
                }
            }
            return n;
        });
    }
    return taken;
}

}  // namespace crm::sales::storage
