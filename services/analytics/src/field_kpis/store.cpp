#include "field_kpis/store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "field_kpis/sql.hpp"

namespace crm::analytics::field {

namespace {

using common::Sql;
using namespace sql;

// clang-format off
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

constexpr Sql kInsertCompletions{"analytics_field_insert_completions", R"SQL(
INSERT INTO analytics_field_completions (tenant_id, work_order_id, version, event_id, completed_at, created_at,
    technician_id, first_time_fix, travel_micros, on_site_micros, arrived_at, has_windows, window_kept)
SELECT $1, x.work_order_id, x.version, x.event_id, )SQL" CRM_AT("x.completed_at") ", " CRM_AT("x.created_at") R"SQL(,
    x.technician_id, x.first_time_fix, x.travel_micros, x.on_site_micros, )SQL" CRM_AT("x.arrived_at") R"SQL(,
    x.has_windows, x.window_kept
FROM jsonb_to_recordset($2::jsonb) AS x(work_order_id uuid, version bigint, event_id uuid, completed_at bigint,
    created_at bigint, technician_id text, first_time_fix boolean, travel_micros bigint, on_site_micros bigint,
    arrived_at bigint, has_windows boolean, window_kept boolean)
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kInsertTechnicians{"analytics_field_insert_technicians", R"SQL(
INSERT INTO analytics_field_technician_versions (tenant_id, technician_id, version, event_id, occurred_at, territory,
    time_zone, active, working_hours, time_off)
SELECT $1, x.technician_id, x.version, x.event_id, )SQL" CRM_AT("x.occurred_at") R"SQL(, x.territory, x.time_zone,
    x.active, x.working_hours, x.time_off
FROM jsonb_to_recordset($2::jsonb) AS x(technician_id uuid, version bigint, event_id uuid, occurred_at bigint,
    territory text, time_zone text, active boolean, working_hours jsonb, time_off jsonb)
ON CONFLICT DO NOTHING
)SQL"};

constexpr Sql kDeleteCompletions{"analytics_field_delete_completions",
                                 "DELETE FROM analytics_field_completions WHERE tenant_id = $1"};
constexpr Sql kDeleteTechnicians{"analytics_field_delete_technicians",
                                 "DELETE FROM analytics_field_technician_versions WHERE tenant_id = $1"};
#undef CRM_AT
// clang-format on

constexpr size_t kBatchRows = 1000;

template <class V, class Row>
void InsertBatches(common::Db& db, pqxx::work& tx, const Sql& sql, const std::string& tenant,
                   const std::vector<V>& facts, Row row) {
    for (size_t i = 0; i < facts.size(); i += kBatchRows) {
        nlohmann::json rows = nlohmann::json::array();
        for (size_t j = i; j < std::min(facts.size(), i + kBatchRows); ++j) rows.push_back(row(facts[j]));
        db.Exec(tx, sql, tenant, rows.dump());
    }
}

void AddCompletions(domain::FieldFacts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
        domain::WorkCompletion c;
        c.work_order_id = row[0].as<std::string>();
        c.version = row[1].as<int64_t>();
        c.event_id = row[2].as<std::string>();
        c.completed_at = row[3].as<int64_t>();
        c.created_at = row[4].as<int64_t>();
        c.technician_id = row[5].as<std::string>();
        c.first_time_fix = row[6].as<bool>();
        c.travel_micros = row[7].as<int64_t>();
        c.on_site_micros = row[8].as<int64_t>();
        if (!row[9].is_null()) c.arrived_at = row[9].as<int64_t>();
        c.has_windows = row[10].as<bool>();
        c.window_kept = row[11].as<bool>();
        f.completions.push_back(std::move(c));
    }
}

void AddTechnicians(domain::FieldFacts& f, const pqxx::result& rows) {
    for (const auto& row : rows) {
        domain::TechnicianVersion t;
        t.technician_id = row[0].as<std::string>();
        t.version = row[1].as<int64_t>();
        t.event_id = row[2].as<std::string>();
        t.occurred_at = row[3].as<int64_t>();
        t.territory = row[4].as<std::string>();
        t.time_zone = row[5].as<std::string>();
        t.active = row[6].as<bool>();
        for (const auto& h : nlohmann::json::parse(row[7].as<std::string>())) {
            t.working_hours.push_back(
                {h.at("weekday").get<int>(), h.at("start_minute").get<int>(), h.at("end_minute").get<int>()});
        }
        for (const auto& o : nlohmann::json::parse(row[8].as<std::string>())) {
            t.time_off.push_back({o.at("start").get<int64_t>(), o.at("end").get<int64_t>()});
        }
        f.technicians.push_back(std::move(t));
    }
}

}  // namespace

void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const domain::FieldFacts& facts) {
    InsertBatches(db, tx, kInsertCompletions, tenant, facts.completions, [](const domain::WorkCompletion& c) {
        return nlohmann::json{{"work_order_id", c.work_order_id},
                              {"version", c.version},
                              {"event_id", c.event_id},
                              {"completed_at", c.completed_at},
                              {"created_at", c.created_at},
                              {"technician_id", c.technician_id},
                              {"first_time_fix", c.first_time_fix},
                              {"travel_micros", c.travel_micros},
                              {"on_site_micros", c.on_site_micros},
                              {"arrived_at", c.arrived_at ? nlohmann::json(*c.arrived_at) : nlohmann::json()},
                              {"has_windows", c.has_windows},
                              {"window_kept", c.window_kept}};
    });
    InsertBatches(db, tx, kInsertTechnicians, tenant, facts.technicians, [](const domain::TechnicianVersion& t) {
        nlohmann::json hours = nlohmann::json::array();
        for (const auto& h : t.working_hours) {
            hours.push_back({{"weekday", h.weekday}, {"start_minute", h.start_minute}, {"end_minute", h.end_minute}});
        }
        nlohmann::json off = nlohmann::json::array();
        for (const auto& o : t.time_off) off.push_back({{"start", o.start}, {"end", o.end}});
        return nlohmann::json{{"technician_id", t.technician_id},
                              {"version", t.version},
                              {"event_id", t.event_id},
                              {"occurred_at", t.occurred_at},
                              {"territory", t.territory},
                              {"time_zone", t.time_zone},
                              {"active", t.active},
                              {"working_hours", hours},
                              {"time_off", off}};
    });
}

domain::FieldFacts LoadFor(common::Db& db, pqxx::work& tx, const std::string& tenant, domain::Micros from,
                           domain::Micros to) {
    domain::FieldFacts f;
    AddCompletions(f, db.Exec(tx, kLoadCompletionsIn, tenant, from, to));
    AddTechnicians(f, db.Exec(tx, kLoadTechnicians, tenant));
    return f;
}

domain::FieldFacts LoadAll(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    domain::FieldFacts f;
    AddCompletions(f, db.Exec(tx, kLoadCompletions, tenant));
    AddTechnicians(f, db.Exec(tx, kLoadTechnicians, tenant));
    return f;
}

void DeleteAll(common::Db& db, pqxx::work& tx, const std::string& tenant) {
    db.Exec(tx, kDeleteCompletions, tenant);
    db.Exec(tx, kDeleteTechnicians, tenant);
}

}  // namespace crm::analytics::field
