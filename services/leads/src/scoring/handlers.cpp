// RPCs of the scoring area: the tenant's scoring rules and the predictive model.
#include <grpcpp/grpcpp.h>

#include <string>

#include "crm/common/resource.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "domain/scoring.hpp"
#include "grpc_service.hpp"
#include "scoring/scoring.hpp"

namespace crm::leads {
namespace {

using common::RequestContext;

constexpr int kDefaultMinExamples = 20;
constexpr int kDefaultNegativeAfterDays = 90;
constexpr int kDefaultTopFactors = 5;

}  // namespace

grpc::Status LeadsService::GetScoringRules(grpc::ServerContext* sc, const v1::GetScoringRulesRequest*,
                                           v1::GetScoringRulesResponse* resp) {
    return rpc_.Handle(sc, "GetScoringRules", [&](const RequestContext& rc) {
        *resp->mutable_scoring_rules() = areas_.scoring->GetRules(rc);
    });
}

grpc::Status LeadsService::UpdateScoringRules(grpc::ServerContext* sc, const v1::UpdateScoringRulesRequest* req,
                                              v1::UpdateScoringRulesResponse* resp) {
    return rpc_.Handle(sc, "UpdateScoringRules", [&](const RequestContext& rc) {
        common::Violations v;
        v1::ScoringRules rules = req->scoring_rules();
        if (rules.engagement_half_life_days() == 0) rules.set_engagement_half_life_days(30);
        for (int i = 0; i < rules.rules_size(); ++i) {
            const auto& r = rules.rules(i);
            const std::string p = "scoring_rules.rules[" + std::to_string(i) + "].";
            if (r.condition_case() == v1::ScoringRule::CONDITION_NOT_SET) {
                v.Add(p + "condition", "required: attribute or engagement");
            }
            if (r.has_attribute() && (r.attribute().operator_() == v1::CONDITION_OPERATOR_UNSPECIFIED ||
                                      !v1::ConditionOperator_IsValid(r.attribute().operator_()))) {
                v.Add(p + "attribute.operator", "required");
            }
        }
        v.Append(domain::ValidateRules(scoring::RulesOf(rules), "scoring_rules."));
        v.ThrowIfAny();
        *resp->mutable_scoring_rules() = areas_.scoring->UpdateRules(rc, rules);
    });
}

grpc::Status LeadsService::TrainScoringModel(grpc::ServerContext* sc, const v1::TrainScoringModelRequest* req,
                                             v1::TrainScoringModelResponse* resp) {
    return rpc_.Handle(sc, "TrainScoringModel", [&](const RequestContext& rc) {
        common::Violations v;
        const int min = req->min_examples_per_class() == 0 ? kDefaultMinExamples : req->min_examples_per_class();
        const int days = req->open_lead_negative_after_days() == 0 ? kDefaultNegativeAfterDays
                                                                   : req->open_lead_negative_after_days();
        if (min < 5 || min > 100000) v.Add("min_examples_per_class", "0 (= 20) or 5 to 100000");
        if (days < 1 || days > 3650) v.Add("open_lead_negative_after_days", "0 (= 90) or 1 to 3650");
        v.ThrowIfAny();
        *resp->mutable_model() = areas_.scoring->TrainModel(rc, min, days);
    });
}

grpc::Status LeadsService::PredictLeadConversion(grpc::ServerContext* sc, const v1::PredictLeadConversionRequest* req,
                                                 v1::PredictLeadConversionResponse* resp) {
    return rpc_.Handle(sc, "PredictLeadConversion", [&](const RequestContext& rc) {
        common::Violations v;
        const std::string id = common::CheckId(v, req->lead_id(), "lead_id");
        if (req->top_factors() < 0 || req->top_factors() > 20) v.Add("top_factors", "0 (= 5) to 20");
        v.ThrowIfAny();
        *resp = areas_.scoring->Predict(rc, id, req->top_factors() == 0 ? kDefaultTopFactors : req->top_factors());
    });
}

}  // namespace crm::leads
