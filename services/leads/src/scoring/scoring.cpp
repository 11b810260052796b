#include "scoring/scoring.hpp"

#include <google/protobuf/util/time_util.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "crm/common/crypto.hpp"
#include "crm/common/db.hpp"
#include "crm/common/errors.hpp"
#include "crm/common/metrics.hpp"
#include "crm/common/outbox.hpp"
#include "crm/common/sealed_columns.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "domain/model.hpp"
#include "lifecycle/lifecycle.hpp"
#include "lifecycle/sealed.hpp"
#include "proto_json.hpp"
#include "scoring/sql.hpp"

namespace crm::leads::scoring {
namespace {

namespace ev1 = crm::leads::events::v1;
using common::ApiError;
using google::protobuf::util::TimeUtil;

constexpr char kRules[] = "scoring_rules";
constexpr char kModel[] = "scoring_model";
constexpr double kDefaultHalfLifeDays = 30;

struct Stored {
    std::string body;
    std::int64_t version = 0;
    std::int64_t update_micros = 0;
};

std::optional<Stored> Load(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const char* kind) {
    const pqxx::result rows = db.Exec(tx, sql::kGetSetting, tenant, kind);
    if (rows.empty()) return std::nullopt;
    return Stored{rows[0][0].as<std::string>(), rows[0][1].as<std::int64_t>(), rows[0][2].as<std::int64_t>()};
}

v1::ScoringRules LoadRules(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant) {
    const auto stored = Load(db, tx, tenant, kRules);
    v1::ScoringRules rules;
    if (stored) {
        rules = FromStoredJson<v1::ScoringRules>(stored->body);
        *rules.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(stored->update_micros);
    }
    if (rules.engagement_half_life_days() <= 0) rules.set_engagement_half_life_days(kDefaultHalfLifeDays);
    return rules;
}

domain::Operator OperatorOf(v1::ConditionOperator op) {
    switch (op) {
        case v1::CONDITION_OPERATOR_ONE_OF:
            return domain::Operator::kOneOf;
        case v1::CONDITION_OPERATOR_PRESENT:
            return domain::Operator::kPresent;
        case v1::CONDITION_OPERATOR_AT_LEAST:
            return domain::Operator::kAtLeast;
        case v1::CONDITION_OPERATOR_CONTAINS:
            return domain::Operator::kContains;
        default:
            return domain::Operator::kEquals;
    }
}

std::vector<domain::EngagementFact> LoadEngagements(common::Db& db, pqxx::transaction_base& tx,
                                                    const std::string& tenant, const std::string& lead_id) {
    std::vector<domain::EngagementFact> facts;
    for (const auto& row : db.Exec(tx, sql::kEngagementsOf, tenant, lead_id)) {
        facts.push_back({row[0].as<std::string>(), row[2].as<double>(), row[1].as<std::string>() == "OUTBOUND"});
    }
    return facts;
}

domain::LeadSample SampleOf(const v1::Lead& lead, std::vector<domain::EngagementFact> engagements) {
    domain::LeadSample s;
    s.fields = lifecycle::FieldsOf(lead);
    s.engagements = std::move(engagements);
    s.rule_score = lead.score();
    s.converted = lead.status() == v1::LEAD_STATUS_CONVERTED;
    return s;
}

// A row of sql::kTrainingLeads as the model sees it.
domain::LeadSample SampleOf(const pqxx::row& r, const std::string& tenant,
                            std::vector<domain::EngagementFact> engagements) {
    domain::LeadSample s;
    domain::LeadFields& f = s.fields;
    const common::ColumnKey key(tenant, r[0].as<std::string>(), r[16]);
    f.given_name = key.Open(lifecycle::sealed::kGivenName, r[1].c_str());
    f.family_name = key.Open(lifecycle::sealed::kFamilyName, r[2].c_str());
    f.email = key.Open(lifecycle::sealed::kEmail, r[3].c_str());
    f.phone = key.Open(lifecycle::sealed::kPhone, r[4].c_str());
    f.company_name = key.Open(lifecycle::sealed::kCompanyName, r[5].c_str());
    f.job_title = key.Open(lifecycle::sealed::kJobTitle, r[6].c_str());
    f.country = r[7].as<std::string>();
    f.region = key.Open(lifecycle::sealed::kRegion, r[8].c_str());
    f.source = r[9].as<std::string>();
    f.campaign_id = r[10].as<std::string>();
    f.owner_id = r[11].as<std::string>();
    f.priority = domain::ParsePriority(r[12].as<std::string>()).value_or(domain::Priority::kMedium);
    for (const auto& [k, v] :
         nlohmann::json::parse(key.OpenObject(lifecycle::sealed::kAttributes, r[13].c_str())).items()) {
        f.attributes[k] = v.get<std::string>();
    }
    s.engagements = std::move(engagements);
    s.rule_score = r[14].as<int>();
    s.converted = r[15].as<bool>();
    return s;
}

nlohmann::json ModelJson(const domain::Model& m, std::int64_t version, const std::string& aggregate_id) {
    return {{"features", m.features},      {"mean", m.mean},           {"scale", m.scale},
            {"weights", m.weights},        {"intercept", m.intercept}, {"training_auc", m.training_auc},
            {"positives", m.positives},    {"negatives", m.negatives}, {"version", version},
            {"aggregate_id", aggregate_id}};
}

domain::Model ModelFrom(const nlohmann::json& j) {
    domain::Model m;
    m.features = j.at("features").get<std::vector<std::string>>();
    m.mean = j.at("mean").get<std::vector<double>>();
    m.scale = j.at("scale").get<std::vector<double>>();
    m.weights = j.at("weights").get<std::vector<double>>();
    m.intercept = j.at("intercept").get<double>();
    m.training_auc = j.at("training_auc").get<double>();
    m.positives = j.at("positives").get<int>();
    m.negatives = j.at("negatives").get<int>();
    return m;
}

v1::ScoringModel ModelProto(const domain::Model& m, std::int64_t version, std::int64_t train_micros) {
    v1::ScoringModel p;
    p.set_version(version);
    *p.mutable_train_time() = TimeUtil::MicrosecondsToTimestamp(train_micros);
    p.set_positive_examples(m.positives);
    p.set_negative_examples(m.negatives);
    p.set_training_auc(m.training_auc);
    p.set_intercept(m.intercept);
    for (size_t i = 0; i < m.features.size(); ++i) {
        auto* w = p.add_weights();
        w->set_feature(m.features[i]);
        w->set_weight(m.weights[i]);
    }
    return p;
}

}  // namespace

domain::RuleSet RulesOf(const v1::ScoringRules& rules) {
    domain::RuleSet out;
    out.half_life_days =
        rules.engagement_half_life_days() > 0 ? rules.engagement_half_life_days() : kDefaultHalfLifeDays;
    for (const auto& r : rules.rules()) {
        domain::Rule rule;
        rule.name = r.name();
        rule.weight = r.weight();
        if (r.has_engagement()) {
            rule.is_engagement = true;
            rule.engagement_type = r.engagement().type();
        } else {
            rule.field = r.attribute().field();
            rule.op = OperatorOf(r.attribute().operator_());
            rule.values.assign(r.attribute().values().begin(), r.attribute().values().end());
        }
        out.rules.push_back(std::move(rule));
    }
    return out;
}

v1::Lead Rescored(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, v1::Lead lead) {
    const domain::RuleSet rules = RulesOf(LoadRules(db, tx, tenant));
    const std::vector<domain::EngagementFact> engagements =
        lead.id().empty() ? std::vector<domain::EngagementFact>{} : LoadEngagements(db, tx, tenant, lead.id());
    const domain::Score score = domain::ComputeScore(rules, lifecycle::FieldsOf(lead), engagements);
    lead.set_score(score.score);
    lead.clear_score_reasons();
    for (const auto& r : score.reasons) {
        auto* out = lead.add_score_reasons();
        out->set_rule(r.rule);
        out->set_points(r.points);
    }
    return lead;
}

Scoring::Scoring(common::Db& db, common::Outbox& outbox, common::Metrics& metrics)
    : db_(db),
      outbox_(outbox),
      models_trained_(prometheus::BuildCounter()
                          .Name("crm_leads_models_trained_total")
                          .Help("Predictive scoring models trained.")
                          .Register(metrics.registry())
                          .Add({})) {}

v1::ScoringRules Scoring::GetRules(const common::RequestContext& rc) {
    return db_.InTenant(rc, [&](pqxx::work& tx) { return LoadRules(db_, tx, rc.tenant_id); });
}

v1::ScoringRules Scoring::UpdateRules(const common::RequestContext& rc, const v1::ScoringRules& rules) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        v1::ScoringRules stored = rules;
        stored.clear_update_time();
        if (stored.engagement_half_life_days() <= 0) stored.set_engagement_half_life_days(kDefaultHalfLifeDays);
        const pqxx::result rows = db_.Exec(tx, sql::kPutSetting, rc.tenant_id, kRules, ToStoredJson(stored));
        *stored.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(rows[0][1].as<std::int64_t>());
        return stored;
    });
}

v1::ScoringModel Scoring::TrainModel(const common::RequestContext& rc, int min_per_class, int negative_after_days) {
    std::vector<domain::LeadSample> samples = db_.InTenant(rc, [&](pqxx::work& tx) {
        std::map<std::string, std::vector<domain::EngagementFact>> engagements;
        for (const auto& row : db_.Exec(tx, sql::kTrainingEngagements, rc.tenant_id, negative_after_days)) {
            engagements[row[0].as<std::string>()].push_back(
                {row[1].as<std::string>(), row[3].as<double>(), row[2].as<std::string>() == "OUTBOUND"});
        }
        std::vector<domain::LeadSample> out;
        for (const auto& row : db_.Exec(tx, sql::kTrainingLeads, rc.tenant_id, negative_after_days)) {
            auto it = engagements.find(row[0].as<std::string>());
            out.push_back(SampleOf(row, rc.tenant_id,
                                   it == engagements.end() ? std::vector<domain::EngagementFact>{} : it->second));
        }
        return out;
    });
    const auto positives = std::count_if(samples.begin(), samples.end(), [](const auto& s) { return s.converted; });
    const auto negatives = static_cast<std::int64_t>(samples.size()) - positives;
    if (positives < min_per_class || negatives < min_per_class) {
        throw ApiError::FailedPrecondition(
            "too little data to train: " + std::to_string(positives) + " converted and " + std::to_string(negatives) +
                " unconverted leads; at least " + std::to_string(min_per_class) + " of each are needed",
            "NOT_ENOUGH_TRAINING_DATA");
    }
    const domain::Model model = domain::Train(samples);
    v1::ScoringModel trained = db_.InTenant(rc, [&](pqxx::work& tx) {
        const auto existing = Load(db_, tx, rc.tenant_id, kModel);
        std::string aggregate_id = common::NewUuid();
        if (existing) aggregate_id = nlohmann::json::parse(existing->body).value("aggregate_id", aggregate_id);
        const std::int64_t next_version = existing ? existing->version + 1 : 1;
        const pqxx::result rows =
            db_.Exec(tx, sql::kPutSetting, rc.tenant_id, kModel, ModelJson(model, next_version, aggregate_id).dump());
        const v1::ScoringModel proto = ModelProto(model, rows[0][0].as<std::int64_t>(), rows[0][1].as<std::int64_t>());
        ev1::ScoringModelTrained event;
        *event.mutable_model() = proto;
        outbox_.Append(tx, rc, common::NewEvent{kModel, aggregate_id, proto.version(), event});
        return proto;
    });
    models_trained_.Increment();
    return trained;
}

v1::PredictLeadConversionResponse Scoring::Predict(const common::RequestContext& rc, const std::string& lead_id,
                                                   int top) {
    return db_.InTenant(rc, [&](pqxx::work& tx) {
        const v1::Lead lead = lifecycle::LoadLead(db_, tx, rc.tenant_id, lead_id);
        const auto stored = Load(db_, tx, rc.tenant_id, kModel);
        if (!stored) {
            throw ApiError::FailedPrecondition("no scoring model was trained for this tenant (TrainScoringModel)",
                                               "NO_MODEL");
        }
        const domain::Model model = ModelFrom(nlohmann::json::parse(stored->body));
        const domain::LeadSample sample = SampleOf(lead, LoadEngagements(db_, tx, rc.tenant_id, lead_id));
        v1::PredictLeadConversionResponse out;
        out.set_probability(domain::Predict(model, sample));
        out.set_model_version(stored->version);
        for (const auto& [feature, contribution] : domain::TopFactors(model, sample, top)) {
            auto* f = out.add_factors();
            f->set_feature(feature);
            f->set_contribution(contribution);
        }
        return out;
    });
}

}  // namespace crm::leads::scoring
