#include "facts/store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "facts/sql.hpp"

namespace crm::analytics::facts {

namespace {

using common::Sql;
using domain::Micros;
using namespace sql;

// clang-format off
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

// Facts are inserted in batches: one statement per read model and batch, the rows as a JSON array (times as
// microseconds since the epoch, null = not stated by the event).
constexpr Sql kInsertRecords{"analytics_insert_records", R"SQL(
INSERT INTO analytics_record_versions (tenant_id, kind, record_id, version, event_id, occurred_at, created_at, deleted_at)
SELECT $1, x.kind, x.record_id, x.version, x.event_id, )SQL" CRM_AT("x.occurred_at") ", " CRM_AT("x.created_at") ", "
    CRM_AT("x.deleted_at") R"SQL(
FROM jsonb_to_recordset($2::jsonb) AS x(kind text, record_id uuid, version bigint, event_id uuid, occurred_at bigint,
    created_at bigint, deleted_at bigint)
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kInsertLeads{"analytics_insert_leads", R"SQL(
INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, source, campaign_id, owner_id,
    status, created_at, first_response_at, response_due_at, converted_at)
SELECT $1, x.lead_id, x.version, x.event_id, )SQL" CRM_AT("x.occurred_at") R"SQL(, x.source, x.campaign_id, x.owner_id,
    x.status, )SQL" CRM_AT("x.created_at") ", " CRM_AT("x.first_response_at") ", " CRM_AT("x.response_due_at") ", "
    CRM_AT("x.converted_at") R"SQL(
FROM jsonb_to_recordset($2::jsonb) AS x(lead_id uuid, version bigint, event_id uuid, occurred_at bigint, source text,
    campaign_id text, owner_id text, status text, created_at bigint, first_response_at bigint, response_due_at bigint,
    converted_at bigint)
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kInsertOpportunities{"analytics_insert_opportunities", R"SQL(
INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, pipeline_id,
    stage_id, stage_name, probability_bp, status, amount_minor, currency_code, owner_id, expected_close_at, created_at,
    closed_at, deleted_at, lead_id, source, campaign_id)
SELECT $1, x.opportunity_id, x.version, x.event_id, )SQL" CRM_AT("x.occurred_at") R"SQL(, x.pipeline_id, x.stage_id,
    x.stage_name, x.probability_bp, x.status, x.amount_minor, x.currency_code, x.owner_id, )SQL"
    CRM_AT("x.expected_close_at") ", " CRM_AT("x.created_at") ", " CRM_AT("x.closed_at") ", " CRM_AT("x.deleted_at")
    R"SQL(, x.lead_id, x.source, x.campaign_id
FROM jsonb_to_recordset($2::jsonb) AS x(opportunity_id uuid, version bigint, event_id uuid, occurred_at bigint,
    pipeline_id text, stage_id text, stage_name text, probability_bp integer, status text, amount_minor bigint,
    currency_code text, owner_id text, expected_close_at bigint, created_at bigint, closed_at bigint,
    deleted_at bigint, lead_id text, source text, campaign_id text)
ON CONFLICT DO NOTHING
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

constexpr size_t kBatchRows = 1000;

template <class T>
nlohmann::json J(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
template <class E>
nlohmann::json JStatus(const std::optional<E>& v) {
    return v ? nlohmann::json(domain::ToString(*v)) : nlohmann::json(nullptr);
}

// Runs `sql` once per batch of rows made by `row`.
template <class V, class Row>
void InsertBatches(common::Db& db, pqxx::work& tx, const Sql& sql, const std::string& tenant,
                   const std::vector<V>& facts, Row row) {
    for (size_t i = 0; i < facts.size(); i += kBatchRows) {
        nlohmann::json rows = nlohmann::json::array();
        for (size_t j = i; j < std::min(facts.size(), i + kBatchRows); ++j) rows.push_back(row(facts[j]));
        db.Exec(tx, sql, tenant, rows.dump());
    }
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
    InsertBatches(db, tx, kInsertRecords, tenant, facts.records, [](const domain::RecordVersion& r) {
        return nlohmann::json{
            {"kind", domain::ToString(r.kind)}, {"record_id", r.record_id},     {"version", r.version},
            {"event_id", r.event_id},           {"occurred_at", r.occurred_at}, {"created_at", J(r.created_at)},
            {"deleted_at", J(r.deleted_at)}};
    });
    InsertBatches(db, tx, kInsertLeads, tenant, facts.leads, [](const domain::LeadVersion& l) {
        return nlohmann::json{{"lead_id", l.lead_id},
                              {"version", l.version},
                              {"event_id", l.event_id},
                              {"occurred_at", l.occurred_at},
                              {"source", J(l.source)},
                              {"campaign_id", J(l.campaign_id)},
                              {"owner_id", J(l.owner_id)},
                              {"status", JStatus(l.status)},
                              {"created_at", J(l.created_at)},
                              {"first_response_at", J(l.first_response_at)},
                              {"response_due_at", J(l.response_due_at)},
                              {"converted_at", J(l.converted_at)}};
    });
    InsertBatches(db, tx, kInsertOpportunities, tenant, facts.opportunities, [](const domain::OpportunityVersion& o) {
        return nlohmann::json{{"opportunity_id", o.opportunity_id},
                              {"version", o.version},
                              {"event_id", o.event_id},
                              {"occurred_at", o.occurred_at},
                              {"pipeline_id", J(o.pipeline_id)},
                              {"stage_id", J(o.stage_id)},
                              {"stage_name", J(o.stage_name)},
                              {"probability_bp", J(o.probability_bp)},
                              {"status", JStatus(o.status)},
                              {"amount_minor", J(o.amount_minor)},
                              {"currency_code", J(o.currency_code)},
                              {"owner_id", J(o.owner_id)},
                              {"expected_close_at", J(o.expected_close_at)},
                              {"created_at", J(o.created_at)},
                              {"closed_at", J(o.closed_at)},
                              {"deleted_at", J(o.deleted_at)},
                              {"lead_id", J(o.lead_id)},
                              {"source", J(o.source)},
                              {"campaign_id", J(o.campaign_id)}};
    });
}

namespace {

void AddRecords(domain::Facts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
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
}

void AddLeads(domain::Facts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
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
}

void AddOpportunities(domain::Facts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
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
}

ReadPoint PointFrom(const pqxx::row& row) {
    return {row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<int64_t>(), row[3].as<std::string>()};
}

}  // namespace

domain::Facts Load(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    domain::Facts f;
    AddRecords(f, db.Exec(tx, kLoadRecords, tenant));
    AddLeads(f, db.Exec(tx, kLoadLeads, tenant));
    AddOpportunities(f, db.Exec(tx, kLoadOpportunities, tenant));
    return f;
}

ReadPoint Now(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    return PointFrom(db.Exec(tx, kNow, tenant)[0]);
}

std::pair<ReadPoint, Changes> NowSince(common::Db& db, pqxx::work& tx, const std::string& tenant,
                                       const ReadPoint& since) {
    const pqxx::row row = db.Exec(tx, kNowSince, tenant, since.xmin, since.snapshot)[0];
    return {PointFrom(row), Changes{row[4].as<bool>(), row[5].as<bool>(), row[6].as<bool>()}};
}

domain::Facts LoadAt(common::Db& db, pqxx::work& tx, const std::string& tenant, const ReadPoint& at) {
    domain::Facts f;
    AddRecords(f, db.Exec(tx, kLoadRecordsAt, tenant, at.xmin, at.snapshot));
    AddLeads(f, db.Exec(tx, kLoadLeadsAt, tenant, at.xmin, at.snapshot));
    AddOpportunities(f, db.Exec(tx, kLoadOpportunitiesAt, tenant, at.xmin, at.snapshot));
    return f;
}

domain::Facts LoadChanged(common::Db& db, pqxx::work& tx, const std::string& tenant, const ReadPoint& since,
                          const ReadPoint& at, const Changes& which) {
    domain::Facts f;
    if (which.records) {
        AddRecords(f, db.Exec(tx, kLoadRecordsChanged, tenant, since.xmin, since.snapshot, at.xmin, at.snapshot));
    }
    if (which.leads) {
        AddLeads(f, db.Exec(tx, kLoadLeadsChanged, tenant, since.xmin, since.snapshot, at.xmin, at.snapshot));
    }
    if (which.opportunities) {
        AddOpportunities(
            f, db.Exec(tx, kLoadOpportunitiesChanged, tenant, since.xmin, since.snapshot, at.xmin, at.snapshot));
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

}  // namespace crm::analytics::facts
