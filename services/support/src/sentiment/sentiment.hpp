#pragma once
// The sentiment area: every customer message is scored when it is added (conversation::AddToCase calls Score and
// RaisePriorityIfNegative inside the entry's transaction); the tenant's rule; a case's trend.
#include <crm/support/v1/customer360.pb.h>
#include <crm/support/v1/routing.pb.h>
#include <crm/support/v1/support.pb.h>

#include <string>
#include <vector>

#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace crm::common {
class Db;
}  // namespace crm::common

namespace crm::support::sentiment {

namespace v1 = crm::support::v1;

inline constexpr double kDefaultThreshold = -0.6;

// The model's view of a customer message (domain::ScoreSentiment).
v1::MessageSentiment Score(const std::string& text);

// When the tenant's rule is on and the score is at or below its threshold, raises c's priority one step (in c only:
// the caller writes the case and its CaseUpdated). True when it changed the priority (URGENT stays URGENT).
bool RaisePriorityIfNegative(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, v1::Case& c,
                             double score);

// A rule from a request, checked (violations under "sentiment_rule."); threshold 0 becomes the default.
v1::SentimentRule CheckRule(const v1::SentimentRule& rule, common::Violations& violations);

// The customer view's trend of each case (in the order given) that has scored customer messages: its last
// kViewTrendPoints scores, oldest first, their figures and direction. Inside the caller's transaction.
inline constexpr int kViewTrendPoints = 10;
std::vector<v1::CaseSentimentTrend> TrendsOf(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                                             const std::vector<std::string>& case_ids);

class Sentiments {
  public:
    explicit Sentiments(common::Db& db) : db_(db) {}
    v1::SentimentRule GetRule(const common::RequestContext& rc);
    v1::SentimentRule UpdateRule(const common::RequestContext& rc, const v1::SentimentRule& rule);
    v1::GetCaseSentimentResponse CaseTrend(const common::RequestContext& rc, const std::string& case_id);

  private:
    common::Db& db_;
};

}  // namespace crm::support::sentiment
