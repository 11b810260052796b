#include "campaign_kpis/store.hpp"

#include <nlohmann/json.hpp>

#include "campaign_kpis/sql.hpp"

namespace crm::analytics::campaign {

namespace {

using common::Sql;

// clang-format off
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

constexpr Sql kInsertCost{"analytics_campaign_insert_cost",
    "INSERT INTO analytics_campaign_costs (tenant_id, cost_id, event_id, campaign_id, currency, amount_minor, "
    "incur_date) VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5, $6, date '1970-01-01' + $7::int) "
    "ON CONFLICT DO NOTHING"};

constexpr Sql kInsertTouch{"analytics_campaign_insert_touch",
    "INSERT INTO analytics_campaign_touches (tenant_id, touch_id, campaign_id, person_id, type, touch_time) "
    "VALUES ($1, $2::uuid, $3::uuid, NULLIF($4, '')::uuid, $5, " CRM_AT("$6") ") ON CONFLICT DO NOTHING"};

constexpr Sql kInsertAttribution{"analytics_campaign_insert_attribution",
    "INSERT INTO analytics_campaign_attributions (tenant_id, opportunity_id, version, event_id, occurred_at, "
    "retracted, close_time, currency, amount_minor, shares) VALUES ($1, $2::uuid, $3, $4::uuid, " CRM_AT("$5") ", $6, "
    "CASE WHEN $7::bigint IS NULL THEN NULL ELSE " CRM_AT("$7") " END, $8, $9, $10::jsonb) ON CONFLICT DO NOTHING"};
#undef CRM_AT
// clang-format on

}  // namespace

void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const CampaignFacts& facts) {
    for (const CostLine& c : facts.costs) {
        db.Exec(tx, kInsertCost, tenant, c.cost_id, c.event_id, c.campaign_id, c.currency, c.amount_minor,
                static_cast<int>(c.incur_day));
    }
    for (const Touch& t : facts.touches) {
        db.Exec(tx, kInsertTouch, tenant, t.touch_id, t.campaign_id, t.person_id, t.type, t.touch_time);
    }
    for (const Attribution& a : facts.attributions) {
        nlohmann::json shares = nlohmann::json::array();
        for (const Share& s : a.shares) {
            shares.push_back({{"model", s.model}, {"campaign_id", s.campaign_id}, {"amount_minor", s.amount_minor}});
        }
        const std::string close = a.close_time ? std::to_string(*a.close_time) : "";
        db.Exec(tx, kInsertAttribution, tenant, a.opportunity_id, a.version, a.event_id, a.occurred_at, a.retracted,
                common::NullIfEmpty(close), a.currency, a.amount_minor, shares.dump());
    }
}

PeriodInputs LoadFor(common::Db& db, pqxx::work& tx, const std::string& tenant, Micros from, Micros to,
                     const std::string& campaign_id) {
    PeriodInputs in;
    for (const auto& r : db.Exec(tx, sql::kCostIn, tenant, from, to, campaign_id)) {
        in.cost[{r[0].as<std::string>(), r[1].as<std::string>()}] = r[2].as<std::int64_t>();
    }
    for (const auto& r : db.Exec(tx, sql::kLeadsIn, tenant, from, to, campaign_id)) {
        in.leads[r[0].as<std::string>()] = r[1].as<std::int64_t>();
    }
    for (const auto& r : db.Exec(tx, sql::kWonIn, tenant, from, to)) {
        Attribution a;
        a.opportunity_id = r[0].as<std::string>();
        a.currency = r[1].as<std::string>();
        for (const auto& s : nlohmann::json::parse(r[2].as<std::string>())) {
            a.shares.push_back({s.at("model").get<std::string>(), s.at("campaign_id").get<std::string>(),
                                s.at("amount_minor").get<std::int64_t>()});
        }
        in.won.push_back(std::move(a));
    }
    return in;
}

}  // namespace crm::analytics::campaign
