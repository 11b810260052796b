#include "storage/repository.hpp"

#include <optional>

namespace crm::analytics::storage {

namespace {

using common::Sql;
using domain::Micros;

// clang-format off
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

constexpr Sql kInsertRecord{"analytics_insert_record", R"SQL(
INSERT INTO analytics_record_versions (tenant_id, kind, record_id, version, event_id, occurred_at, created_at, deleted_at)
VALUES ($1, $2, $3::uuid, $4, $5::uuid, )SQL" CRM_AT("$6") ", " CRM_AT("$7") ", " CRM_AT("$8") R"SQL()
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kInsertLead{"analytics_insert_lead", R"SQL(
INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, source, campaign_id, owner_id,
    status, created_at, first_response_at, response_due_at, converted_at)
VALUES ($1, $2::uuid, $3, $4::uuid, )SQL" CRM_AT("$5") R"SQL(, $6, $7, $8, $9, )SQL" CRM_AT("$10") ", "
    CRM_AT("$11") ", " CRM_AT("$12") ", " CRM_AT("$13") R"SQL()
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kInsertOpportunity{"analytics_insert_opportunity", R"SQL(
INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, pipeline_id,
    stage_id, stage_name, probability_bp, status, amount_minor, currency_code, owner_id, expected_close_at, created_at,
    closed_at, deleted_at, lead_id, source, campaign_id)
VALUES ($1, $2::uuid, $3, $4::uuid, )SQL" CRM_AT("$5") R"SQL(, $6, $7, $8, $9::integer, $10, $11::bigint, $12, $13, )SQL"
    CRM_AT("$14") ", " CRM_AT("$15") ", " CRM_AT("$16") ", " CRM_AT("$17") R"SQL(, $18, $19, $20)
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kLoadRecords{"analytics_load_records", R"SQL(
SELECT kind, record_id::text, version, event_id::text, )SQL" CRM_MICROS("occurred_at") ", " CRM_MICROS("created_at") ", "
    CRM_MICROS("deleted_at") R"SQL(
FROM analytics_record_versions WHERE tenant_id = $1 ORDER BY kind, record_id, version, event_id
)SQL"};

constexpr Sql kLoadLeads{"analytics_load_leads", R"SQL(
SELECT lead_id::text, version, event_id::text, )SQL" CRM_MICROS("occurred_at") R"SQL(, source, campaign_id, owner_id,
    status, )SQL" CRM_MICROS("created_at") ", " CRM_MICROS("first_response_at") ", " CRM_MICROS("response_due_at") ", "
    CRM_MICROS("converted_at") R"SQL(
FROM analytics_lead_versions WHERE tenant_id = $1 ORDER BY lead_id, version, event_id
)SQL"};

constexpr Sql kLoadOpportunities{"analytics_load_opportunities", R"SQL(
SELECT opportunity_id::text, version, event_id::text, )SQL" CRM_MICROS("occurred_at") R"SQL(, pipeline_id, stage_id,
    stage_name, probability_bp, status, amount_minor, currency_code, owner_id, )SQL" CRM_MICROS("expected_close_at") ", "
    CRM_MICROS("created_at") ", " CRM_MICROS("closed_at") ", " CRM_MICROS("deleted_at") R"SQL(, lead_id, source,
    campaign_id
FROM analytics_opportunity_versions WHERE tenant_id = $1 ORDER BY opportunity_id, version, event_id
)SQL"};

constexpr Sql kDeleteRecords{"analytics_delete_records", "DELETE FROM analytics_record_versions WHERE tenant_id = $1"};
constexpr Sql kDeleteLeads{"analytics_delete_leads", "DELETE FROM analytics_lead_versions WHERE tenant_id = $1"};
constexpr Sql kDeleteOpportunities{"analytics_delete_opportunities",
                                   "DELETE FROM analytics_opportunity_versions WHERE tenant_id = $1"};

// Advisory lock key space of this service (first key) and the tenant (second key).
constexpr Sql kTryConsumerLock{"analytics_try_consumer_lock",
                               "SELECT pg_try_advisory_xact_lock_shared(1851880001, hashtext($1))"};
constexpr Sql kRebuildLock{"analytics_rebuild_lock", "SELECT pg_advisory_xact_lock(1851880001, hashtext($1))"};
// clang-format on

// Parameters: text or SQL NULL (libpqxx 6 takes const char* nullptr as NULL).
class Param {
  public:
    Param() = default;
    explicit Param(std::string text) : value_(std::move(text)) {}
    const char* get() const { return value_ ? value_->c_str() : nullptr; }

  private:
    std::optional<std::string> value_;
};

Param P(const std::optional<std::string>& v) { return v ? Param(*v) : Param(); }
Param P(const std::optional<Micros>& v) { return v ? Param(std::to_string(*v)) : Param(); }
Param P(const std::optional<int>& v) { return v ? Param(std::to_string(*v)) : Param(); }
Param P(const std::optional<int64_t>& v, int) { return v ? Param(std::to_string(*v)) : Param(); }
template <class E>
Param PStatus(const std::optional<E>& v) {
    return v ? Param(domain::ToString(*v)) : Param();
}

std::optional<std::string> OptText(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
}
std::optional<int64_t> OptInt(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<int64_t>();
}

}  // namespace

void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::Facts& facts) {
    for (const auto& r : facts.records) {
        db.Exec(tx, kInsertRecord, tenant, domain::ToString(r.kind), r.record_id, r.version, r.event_id,
                std::to_string(r.occurred_at), P(r.created_at).get(), P(r.deleted_at).get());
    }
    for (const auto& l : facts.leads) {
        db.Exec(tx, kInsertLead, tenant, l.lead_id, l.version, l.event_id, std::to_string(l.occurred_at),
                P(l.source).get(), P(l.campaign_id).get(), P(l.owner_id).get(), PStatus(l.status).get(),
                P(l.created_at).get(), P(l.first_response_at).get(), P(l.response_due_at).get(),
                P(l.converted_at).get());
    }
    for (const auto& o : facts.opportunities) {
        db.Exec(tx, kInsertOpportunity, tenant, o.opportunity_id, o.version, o.event_id, std::to_string(o.occurred_at),
                P(o.pipeline_id).get(), P(o.stage_id).get(), P(o.stage_name).get(), P(o.probability_bp).get(),
                PStatus(o.status).get(), P(o.amount_minor, 0).get(), P(o.currency_code).get(), P(o.owner_id).get(),
                P(o.expected_close_at).get(), P(o.created_at).get(), P(o.closed_at).get(), P(o.deleted_at).get(),
                P(o.lead_id).get(), P(o.source).get(), P(o.campaign_id).get());
    }
}

domain::Facts Load(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    domain::Facts f;
    for (const auto& row : db.Exec(tx, kLoadRecords, tenant)) {
        domain::RecordVersion r;
        r.kind = domain::RecordKindFrom(row[0].as<std::string>()).value_or(domain::RecordKind::kContact);
        r.record_id = row[1].as<std::string>();
        r.version = row[2].as<int64_t>();
        r.event_id = row[3].as<std::string>();
        r.occurred_at = row[4].as<int64_t>();
        r.created_at = OptInt(row[5]);
        r.deleted_at = OptInt(row[6]);
        f.records.push_back(std::move(r));
    }
    for (const auto& row : db.Exec(tx, kLoadLeads, tenant)) {
        domain::LeadVersion l;
        l.lead_id = row[0].as<std::string>();
        l.version = row[1].as<int64_t>();
        l.event_id = row[2].as<std::string>();
        l.occurred_at = row[3].as<int64_t>();
        l.source = OptText(row[4]);
        l.campaign_id = OptText(row[5]);
        l.owner_id = OptText(row[6]);
        if (!row[7].is_null()) l.status = domain::LeadStatusFrom(row[7].as<std::string>());
        l.created_at = OptInt(row[8]);
        l.first_response_at = OptInt(row[9]);
        l.response_due_at = OptInt(row[10]);
        l.converted_at = OptInt(row[11]);
        f.leads.push_back(std::move(l));
    }
    for (const auto& row : db.Exec(tx, kLoadOpportunities, tenant)) {
        domain::OpportunityVersion o;
        o.opportunity_id = row[0].as<std::string>();
        o.version = row[1].as<int64_t>();
        o.event_id = row[2].as<std::string>();
        o.occurred_at = row[3].as<int64_t>();
        o.pipeline_id = OptText(row[4]);
        o.stage_id = OptText(row[5]);
        o.stage_name = OptText(row[6]);
        if (!row[7].is_null()) o.probability_bp = row[7].as<int>();
        if (!row[8].is_null()) o.status = domain::DealStatusFrom(row[8].as<std::string>());
        o.amount_minor = OptInt(row[9]);
        o.currency_code = OptText(row[10]);
        o.owner_id = OptText(row[11]);
        o.expected_close_at = OptInt(row[12]);
        o.created_at = OptInt(row[13]);
        o.closed_at = OptInt(row[14]);
        o.deleted_at = OptInt(row[15]);
        o.lead_id = OptText(row[16]);
        o.source = OptText(row[17]);
        o.campaign_id = OptText(row[18]);
        f.opportunities.push_back(std::move(o));
    }
    return f;
}

void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    db.Exec(tx, kDeleteRecords, tenant);
    db.Exec(tx, kDeleteLeads, tenant);
    db.Exec(tx, kDeleteOpportunities, tenant);
}

bool TryConsumerLock(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    return db.Exec(tx, kTryConsumerLock, tenant)[0][0].as<bool>();
}

void RebuildLock(common::Db& db, pqxx::work& tx, const std::string& tenant) { db.Exec(tx, kRebuildLock, tenant); }

}  // namespace crm::analytics::storage
