#pragma once
// Pure rules of the predictive model: a per-tenant logistic regression over features derived from a lead's fields,
// its engagements and its rule score, trained by full-batch gradient descent (deterministic), with its AUC.
#include <string>
#include <utility>
#include <vector>

#include "domain/lead.hpp"
#include "domain/scoring.hpp"

namespace crm::leads::domain {

// A lead as the model sees it: its fields, its engagements and its rule score.
struct LeadSample {
    LeadFields fields;
    std::vector<EngagementFact> engagements;
    int rule_score = 0;
    bool converted = false;
};

struct Model {
    std::vector<std::string> features;  // names
    std::vector<double> mean, scale;    // standardization per feature (scale > 0)
    std::vector<double> weights;        // on standardized features
    double intercept = 0;
    double training_auc = 0;
    int positives = 0, negatives = 0;
};

struct TrainSettings {
    int iterations = 800;
    double learning_rate = 0.5;
    double l2 = 0.01;
};

// Names of the features derived from the samples (fixed order; categorical values seen in the data, capped).
std::vector<std::string> FeatureSpace(const std::vector<LeadSample>& samples);
std::vector<double> Featurize(const std::vector<std::string>& features, const LeadSample& sample);
// Full-batch gradient descent on the standardized features with L2; deterministic.
Model Train(const std::vector<LeadSample>& samples, const TrainSettings& settings = {});
double Predict(const Model& model, const LeadSample& sample);
// Contributions (weight × standardized value) per feature, largest |contribution| first, at most `top`.
std::vector<std::pair<std::string, double>> TopFactors(const Model& model, const LeadSample& sample, int top);
// Area under the ROC curve (ties count half). 0.5 when a class is empty.
double Auc(const std::vector<double>& scores, const std::vector<bool>& labels);

}  // namespace crm::leads::domain
