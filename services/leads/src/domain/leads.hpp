#pragma once
// Pure domain logic of the leads service: validation and normalization of lead fields, the status lifecycle, the
// rule-based score with decaying engagement, the predictive model (logistic regression), round-robin selection and
// web-form tokens. No gRPC, protobuf or database here, so all of it is unit-tested without I/O.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm/common/errors.hpp"

namespace crm::leads::domain {

using Violations = std::vector<common::FieldViolation>;

// --- lifecycle ----------------------------------------------------------------------------------------------------
enum class Status { kNew, kWorking, kNurturing, kQualified, kUnqualified, kConverted };
const char* StatusText(Status status);  // "NEW", ...
std::optional<Status> ParseStatus(std::string_view text);
bool IsOpen(Status status);  // not CONVERTED or UNQUALIFIED
// Whether ChangeLeadStatus may move from -> to (CONVERTED is never a target there).
bool TransitionAllowed(Status from, Status to);
// Whether ConvertLead may convert a lead in this status.
bool ConvertAllowed(Status from, bool allow_unqualified);

enum class Priority { kLow, kMedium, kHigh, kUrgent };
const char* PriorityText(Priority priority);  // "LOW", ...
std::optional<Priority> ParsePriority(std::string_view text);

// --- fields -------------------------------------------------------------------------------------------------------
struct LeadFields {
    std::string given_name, family_name, email, phone, company_name, job_title, country, region, source, campaign_id,
        owner_id, notes;
    Priority priority = Priority::kMedium;
    std::map<std::string, std::string> attributes;
};

// Trims and normalizes in place (email and source lowercased, country uppercased) and returns every violation, each
// prefixed with `prefix` ("lead."). require_identity: at least a name, an email or a phone.
Violations NormalizeLead(LeadFields& fields, const std::string& prefix, bool require_identity = true);
std::string EmailDomain(const std::string& email);
bool IsKey(std::string_view key);         // [a-z][a-z0-9_]{0,62}
bool IsSlug(std::string_view id);         // [a-z][a-z0-9_-]{0,62}
std::string Trim(std::string_view text);  // ASCII whitespace
std::string Lower(std::string_view text);

// --- scoring ------------------------------------------------------------------------------------------------------
enum class Operator { kEquals, kOneOf, kPresent, kAtLeast, kContains };

struct Rule {
    std::string name;
    bool is_engagement = false;
    // Attribute condition.
    std::string field;
    Operator op = Operator::kEquals;
    std::vector<std::string> values;
    // Engagement condition.
    std::string engagement_type;
    int weight = 0;
};

struct RuleSet {
    std::vector<Rule> rules;
    double half_life_days = 30.0;
};

struct EngagementFact {
    std::string type;
    double age_days = 0;  // >= 0
    bool outbound = false;
};

struct ScoreReason {
    std::string rule;
    double points = 0;
};

struct Score {
    int score = 0;
    std::vector<ScoreReason> reasons;  // largest |points| first
};

Violations ValidateRules(const RuleSet& rules, const std::string& prefix);
// The value of a condition field of a lead ("email_domain", "priority" as "low".."urgent", "attributes.<key>").
std::optional<std::string> FieldValue(const LeadFields& lead, const std::string& field);
bool IsConditionField(const std::string& field);
Score ComputeScore(const RuleSet& rules, const LeadFields& lead, const std::vector<EngagementFact>& engagements);

// --- predictive model -----------------------------------------------------------------------------------------------
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

// --- assignment -----------------------------------------------------------------------------------------------------
struct Member {
    std::string user_id;
    int max_open_leads = 0;  // 0 = unlimited
    int open_leads = 0;
};
// Round-robin from `position`: the first member at or after position (mod n) with capacity. Returns the member's
// index, or nullopt when every member is full. The next position is index + 1.
std::optional<size_t> PickRoundRobin(const std::vector<Member>& members, std::int64_t position);

// --- web-form tokens --------------------------------------------------------------------------------------------
struct FormTokenClaims {
    std::string tenant;
    std::string form_id;
    // Milliseconds: with whole seconds a submission 10 ms after issue could pass a 1 s minimum fill time.
    std::int64_t issued_unix_ms = 0;
    std::string nonce;
};
std::string SignFormToken(const FormTokenClaims& claims, std::string_view key);
// nullopt when malformed or the signature does not verify.
std::optional<FormTokenClaims> VerifyFormToken(std::string_view token, std::string_view key);

}  // namespace crm::leads::domain
