#pragma once
// Sentiment of a customer's message: a multinomial logistic regression over words, trained offline by
// services/support/tools/train_sentiment.py on data/sentiment/messages.tsv (CC0, written for this repository) and
// compiled in (sentiment_model.inc). Negation ("not happy" is the feature not_happy for the three words after a
// negator, within the clause) and intensifiers ("very", "extremely": the next word counts twice) are part of the
// features. The score is P(positive) - P(negative), in [-1, 1]; the label the most probable class.
// Held-out accuracy and the majority-class baseline: tests/sentiment_test.cpp and the README.
#include <string>
#include <string_view>
#include <vector>

namespace crm::support::domain {

enum class SentimentLabel { kNegative, kNeutral, kPositive };
const char* SentimentLabelText(SentimentLabel label);  // "NEGATIVE", "NEUTRAL", "POSITIVE"

struct Sentiment {
    double score = 0;  // [-1, 1]
    SentimentLabel label = SentimentLabel::kNeutral;
    double probabilities[3] = {0, 1, 0};  // negative, neutral, positive
};

Sentiment ScoreSentiment(std::string_view text);

// The features of a text as the model sees them (for tests): "word", "not_word", "<excl>", each with its weight.
std::vector<std::pair<std::string, double>> SentimentFeatures(std::string_view text);

// Whether a message this negative raises its case's priority: the rule is on and the score is at or below the
// threshold (a number in [-1, 0)).
bool RaisesPriority(bool rule_enabled, double threshold, double score);

// A case's trend over its scored messages (oldest first): their mean, the latest score, and the mean of the second
// half minus the mean of the first half (0 with fewer than two; above 0 the customer's tone improves).
struct SentimentTrend {
    double average = 0;
    double latest = 0;
    double trend = 0;
};
SentimentTrend TrendOf(const std::vector<double>& oldest_first);

// Which way a trend goes: a change of at least kTrendStep either way, else steady.
inline constexpr double kTrendStep = 0.2;
enum class TrendDirection { kImproving, kSteady, kWorsening };
TrendDirection DirectionOf(double trend);

}  // namespace crm::support::domain
