#include "support_kpis/store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "support_kpis/sql.hpp"

namespace crm::analytics::support {

namespace {

using common::Sql;
using namespace sql;

// clang-format off
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
#define CRM_CASE_ROWS "jsonb_to_recordset($2::jsonb) AS x(case_id uuid, version bigint, event_id uuid, " \
    "occurred_at bigint, event_type text, status text, queue_id text, assignee_id text, created_at bigint, " \
    "first_response_at bigint, solved_at bigint, closed_at bigint, reopened boolean, breached_clock text, " \
    "fr_sla_target bigint, fr_sla_elapsed bigint, fr_sla_stopped boolean, fr_sla_breached boolean, " \
    "res_sla_target bigint, res_sla_elapsed bigint, res_sla_stopped boolean, res_sla_breached boolean)"

constexpr Sql kInsertCases{"analytics_support_insert_cases", R"SQL(
INSERT INTO analytics_support_case_versions (tenant_id, case_id, version, event_id, occurred_at, event_type, status,
    queue_id, assignee_id, created_at, first_response_at, solved_at, closed_at, reopened, breached_clock,
    fr_sla_target, fr_sla_elapsed, fr_sla_stopped, fr_sla_breached,
    res_sla_target, res_sla_elapsed, res_sla_stopped, res_sla_breached)
SELECT $1, x.case_id, x.version, x.event_id, )SQL" CRM_AT("x.occurred_at") R"SQL(, x.event_type, x.status, x.queue_id,
    x.assignee_id, )SQL" CRM_AT("x.created_at") ", " CRM_AT("x.first_response_at") ", " CRM_AT("x.solved_at") ", "
    CRM_AT("x.closed_at") R"SQL(, x.reopened, x.breached_clock,
    x.fr_sla_target, x.fr_sla_elapsed, x.fr_sla_stopped, x.fr_sla_breached,
    x.res_sla_target, x.res_sla_elapsed, x.res_sla_stopped, x.res_sla_breached
FROM )SQL" CRM_CASE_ROWS R"SQL(
ON CONFLICT DO NOTHING
)SQL"};

// A case's span: the earliest creation stated, and the time of its last version (greatest version, then event id)
// unless that version leaves it open.
constexpr Sql kWidenSpans{"analytics_support_widen_spans", R"SQL(
INSERT INTO analytics_support_cases AS c (tenant_id, case_id, created_at, last_version, last_event_id, final_at)
SELECT $1, y.case_id, y.created_at, y.version, y.event_id, y.final_at
FROM (SELECT DISTINCT ON (x.case_id) x.case_id, x.version, x.event_id,
          min()SQL" CRM_AT("coalesce(x.created_at, x.occurred_at)") R"SQL() OVER (PARTITION BY x.case_id) AS created_at,
          CASE WHEN x.status IN ('SOLVED', 'CLOSED', 'MERGED') THEN )SQL" CRM_AT("x.occurred_at") R"SQL(
               ELSE timestamptz 'infinity' END AS final_at
      FROM )SQL" CRM_CASE_ROWS R"SQL(
      ORDER BY x.case_id, x.version DESC, x.event_id DESC) y
ON CONFLICT (tenant_id, case_id) DO UPDATE
SET created_at = LEAST(c.created_at, EXCLUDED.created_at),
    last_version = CASE WHEN (EXCLUDED.last_version, EXCLUDED.last_event_id) > (c.last_version, c.last_event_id)
                        THEN EXCLUDED.last_version ELSE c.last_version END,
    last_event_id = CASE WHEN (EXCLUDED.last_version, EXCLUDED.last_event_id) > (c.last_version, c.last_event_id)
                         THEN EXCLUDED.last_event_id ELSE c.last_event_id END,
    final_at = CASE WHEN (EXCLUDED.last_version, EXCLUDED.last_event_id) > (c.last_version, c.last_event_id)
                    THEN EXCLUDED.final_at ELSE c.final_at END
WHERE EXCLUDED.created_at < c.created_at
   OR (EXCLUDED.last_version, EXCLUDED.last_event_id) > (c.last_version, c.last_event_id)
)SQL"};

constexpr Sql kInsertCsat{"analytics_support_insert_csat", R"SQL(
INSERT INTO analytics_support_csat (tenant_id, survey_id, case_id, event_id, answered_at, score, agent_id, queue_id)
SELECT $1, x.survey_id, x.case_id, x.event_id, )SQL" CRM_AT("x.answered_at") R"SQL(, x.score, x.agent_id, x.queue_id
FROM jsonb_to_recordset($2::jsonb) AS x(survey_id text, case_id uuid, event_id uuid, answered_at bigint,
    score integer, agent_id text, queue_id text)
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kDeleteCases{"analytics_support_delete_cases",
                           "DELETE FROM analytics_support_case_versions WHERE tenant_id = $1"};
constexpr Sql kDeleteSpans{"analytics_support_delete_spans", "DELETE FROM analytics_support_cases WHERE tenant_id = $1"};
constexpr Sql kDeleteCsat{"analytics_support_delete_csat", "DELETE FROM analytics_support_csat WHERE tenant_id = $1"};
#undef CRM_AT
#undef CRM_CASE_ROWS
// clang-format on

constexpr size_t kBatchRows = 1000;

template <class T>
nlohmann::json J(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::optional<int64_t> OptInt(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<int64_t>();
}

// Four columns from `at`: target, elapsed, stopped, breached (all NULL: no figure).
std::optional<domain::SlaFigure> Figure(const pqxx::row& row, int at) {
    if (row[at].is_null()) return std::nullopt;
    return domain::SlaFigure{row[at].as<int64_t>(), row[at + 1].as<int64_t>(), row[at + 2].as<bool>(),
                             row[at + 3].as<bool>()};
}

void PutFigure(nlohmann::json& row, const char* prefix, const std::optional<domain::SlaFigure>& f) {
    const std::string p(prefix);
    row[p + "_sla_target"] = f ? nlohmann::json(f->target_seconds) : nlohmann::json();
    row[p + "_sla_elapsed"] = f ? nlohmann::json(f->elapsed_seconds) : nlohmann::json();
    row[p + "_sla_stopped"] = f ? nlohmann::json(f->stopped) : nlohmann::json();
    row[p + "_sla_breached"] = f ? nlohmann::json(f->breached) : nlohmann::json();
}

void AddCases(domain::SupportFacts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
        domain::CaseVersion v;
        v.case_id = row[0].as<std::string>();
        v.version = row[1].as<int64_t>();
        v.event_id = row[2].as<std::string>();
        v.occurred_at = row[3].as<int64_t>();
        v.event_type = row[4].as<std::string>();
        if (!row[5].is_null()) v.status = domain::CaseStateFrom(row[5].as<std::string>());
        v.queue_id = row[6].as<std::string>();
        v.assignee_id = row[7].as<std::string>();
        v.created_at = OptInt(row[8]);
        v.first_response_at = OptInt(row[9]);
        v.solved_at = OptInt(row[10]);
        v.closed_at = OptInt(row[11]);
        v.reopened = row[12].as<bool>();
        if (!row[13].is_null()) v.breached_clock = domain::SlaClockFrom(row[13].as<std::string>());
        v.first_response_sla = Figure(row, 14);
        v.resolution_sla = Figure(row, 18);
        f.cases.push_back(std::move(v));
    }
}

void AddCsat(domain::SupportFacts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
        domain::CsatAnswer a;
        a.survey_id = row[0].as<std::string>();
        a.case_id = row[1].as<std::string>();
        a.event_id = row[2].as<std::string>();
        a.answered_at = row[3].as<int64_t>();
        a.score = row[4].as<int>();
        a.agent_id = row[5].as<std::string>();
        a.queue_id = row[6].as<std::string>();
        f.csat.push_back(std::move(a));
    }
}

}  // namespace

void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::SupportFacts& facts) {
    for (size_t i = 0; i < facts.cases.size(); i += kBatchRows) {
        nlohmann::json rows = nlohmann::json::array();
        for (size_t j = i; j < std::min(facts.cases.size(), i + kBatchRows); ++j) {
            const domain::CaseVersion& v = facts.cases[j];
            rows.push_back({{"case_id", v.case_id},
                            {"version", v.version},
                            {"event_id", v.event_id},
                            {"occurred_at", v.occurred_at},
                            {"event_type", v.event_type},
                            {"status", v.status ? nlohmann::json(domain::ToString(*v.status)) : nlohmann::json()},
                            {"queue_id", v.queue_id},
                            {"assignee_id", v.assignee_id},
                            {"created_at", J(v.created_at)},
                            {"first_response_at", J(v.first_response_at)},
                            {"solved_at", J(v.solved_at)},
                            {"closed_at", J(v.closed_at)},
                            {"reopened", v.reopened},
                            {"breached_clock", v.breached_clock ? nlohmann::json(domain::ToString(*v.breached_clock))
                                                                : nlohmann::json()}});
            PutFigure(rows.back(), "fr", v.first_response_sla);
            PutFigure(rows.back(), "res", v.resolution_sla);
        }
        const std::string text = rows.dump();
        db.Exec(tx, kInsertCases, tenant, text);
        db.Exec(tx, kWidenSpans, tenant, text);
    }
    for (size_t i = 0; i < facts.csat.size(); i += kBatchRows) {
        nlohmann::json rows = nlohmann::json::array();
        for (size_t j = i; j < std::min(facts.csat.size(), i + kBatchRows); ++j) {
            const domain::CsatAnswer& a = facts.csat[j];
            rows.push_back({{"survey_id", a.survey_id},
                            {"case_id", a.case_id},
                            {"event_id", a.event_id},
                            {"answered_at", a.answered_at},
                            {"score", a.score},
                            {"agent_id", a.agent_id},
                            {"queue_id", a.queue_id}});
        }
        db.Exec(tx, kInsertCsat, tenant, rows.dump());
    }
}

domain::SupportFacts LoadFor(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::Micros from,
                             domain::Micros to, domain::Micros csat_from, domain::Micros csat_to) {
    domain::SupportFacts f;
    AddCases(f, db.Exec(tx, kLoadCasesMeeting, tenant, from, to));
    AddCsat(f, db.Exec(tx, kLoadCsatIn, tenant, csat_from, csat_to));
    return f;
}

TenantRows LoadAll(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    TenantRows out;
    AddCases(out.facts, db.Exec(tx, kLoadCases, tenant));
    AddCsat(out.facts, db.Exec(tx, kLoadCsat, tenant));
    for (const auto& row : db.Exec(tx, kLoadSpans, tenant)) {
        out.spans.push_back({row[0].as<std::string>(), row[1].as<int64_t>(), row[2].as<int64_t>(), OptInt(row[3])});
    }
    return out;
}

void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    db.Exec(tx, kDeleteCases, tenant);
    db.Exec(tx, kDeleteSpans, tenant);
    db.Exec(tx, kDeleteCsat, tenant);
}

}  // namespace crm::analytics::support
