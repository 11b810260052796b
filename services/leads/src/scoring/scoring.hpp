#pragma once
// The scoring area: the tenant's scoring rules (a lead's score is recomputed from them on every change, in the
// transaction of the change), and the predictive model trained on the tenant's converted and unconverted leads.
#include <crm/leads/v1/leads.pb.h>

#include <string>

#include "crm/common/rpc.hpp"
#include "domain/scoring.hpp"

namespace pqxx {
class transaction_base;
}

namespace prometheus {
class Counter;
}

namespace crm::common {
class Db;
class Metrics;
class Outbox;
}  // namespace crm::common

namespace crm::leads::scoring {

namespace v1 = crm::leads::v1;

// The domain form of scoring rules (an unset half-life is the default, 30 days).
domain::RuleSet RulesOf(const v1::ScoringRules& rules);

// `lead` with its score and reasons recomputed from the tenant's rules and the lead's engagements (none for a lead
// without an id yet), inside the caller's transaction.
v1::Lead Rescored(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, v1::Lead lead);

class Scoring {
  public:
    Scoring(common::Db& db, common::Outbox& outbox, common::Metrics& metrics);

    v1::ScoringRules GetRules(const common::RequestContext& rc);
    // Replaces the rules (validated by the caller); existing leads are rescored on their next change.
    v1::ScoringRules UpdateRules(const common::RequestContext& rc, const v1::ScoringRules& rules);
    // Reads the training set in one transaction, trains outside of it and stores the model (ScoringModelTrained) in
    // another. FAILED_PRECONDITION (NOT_ENOUGH_TRAINING_DATA) below min_per_class examples of either class.
    v1::ScoringModel TrainModel(const common::RequestContext& rc, int min_per_class, int negative_after_days);
    // FAILED_PRECONDITION (NO_MODEL) before the first training.
    v1::PredictLeadConversionResponse Predict(const common::RequestContext& rc, const std::string& lead_id, int top);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
    prometheus::Counter& models_trained_;
};

}  // namespace crm::leads::scoring
