#include "domain/sentiment.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

namespace crm::support::domain {
namespace {

struct SentimentWeight {
    const char* word;
    double w[3];
};

#include "domain/sentiment_model.inc"

constexpr std::array<std::string_view, 25> kNegators = {
    "not",    "no",      "never",  "dont",    "doesnt",  "didnt",   "isnt",     "wasnt",  "arent",
    "werent", "cant",    "cannot", "couldnt", "wont",    "wouldnt", "shouldnt", "havent", "hasnt",
    "hadnt",  "nothing", "nobody", "nor",     "neither", "without", "hardly"};
constexpr std::array<std::string_view, 13> kIntensifiers = {
    "very",  "really",     "extremely", "so",    "totally", "absolutely", "incredibly",
    "super", "completely", "highly",    "truly", "utterly", "quite"};

template <std::size_t N>
bool In(const std::array<std::string_view, N>& set, std::string_view word) {
    return std::find(set.begin(), set.end(), word) != set.end();
}

bool IsBoundary(char c) { return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?'; }

const SentimentWeight* Find(std::string_view word) {
    const auto* begin = std::begin(kSentimentWeights);
    const auto* end = std::end(kSentimentWeights);
    const auto* it =
        std::lower_bound(begin, end, word, [](const SentimentWeight& w, std::string_view key) { return w.word < key; });
    return it != end && it->word == word ? it : nullptr;
}

}  // namespace

const char* SentimentLabelText(SentimentLabel label) {
    switch (label) {
        case SentimentLabel::kNegative:
            return "NEGATIVE";
        case SentimentLabel::kPositive:
            return "POSITIVE";
        case SentimentLabel::kNeutral:
            break;
    }
    return "NEUTRAL";
}

std::vector<std::pair<std::string, double>> SentimentFeatures(std::string_view text) {
    std::map<std::string, double> out;
    int negate = 0;
    double boost = 1.0;
    std::string word;
    auto flush = [&] {
        if (word.empty()) return;
        const bool negator = In(kNegators, word);
        const std::string key = negate > 0 && !negator ? "not_" + word : word;
        out[key] += boost;
        boost = In(kIntensifiers, word) ? 2.0 : 1.0;
        if (negator) {
            negate = 3;
        } else if (negate > 0) {
            --negate;
        }
        word.clear();
    };
    for (const char raw : text) {
        const char c = (raw >= 'A' && raw <= 'Z') ? static_cast<char>(raw - 'A' + 'a') : raw;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            word += c;
        } else if (c == '\'') {
            continue;
        } else {
            flush();
            if (IsBoundary(c)) {
                negate = 0;
                boost = 1.0;
                if (c == '!') out["<excl>"] += 1.0;
            }
        }
    }
    flush();
    return {out.begin(), out.end()};
}

Sentiment ScoreSentiment(std::string_view text) {
    double z[3] = {kSentimentBias[0], kSentimentBias[1], kSentimentBias[2]};
    for (const auto& [feature, value] : SentimentFeatures(text)) {
        if (const SentimentWeight* w = Find(feature)) {
            for (int c = 0; c < 3; ++c) z[c] += value * w->w[c];
        }
    }
    const double m = std::max({z[0], z[1], z[2]});
    double e[3];
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += (e[c] = std::exp(z[c] - m));
    Sentiment s;
    for (int c = 0; c < 3; ++c) s.probabilities[c] = e[c] / sum;
    s.score = std::clamp(s.probabilities[2] - s.probabilities[0], -1.0, 1.0);
    const int best = static_cast<int>(std::max_element(s.probabilities, s.probabilities + 3) - s.probabilities);
    s.label = best == 0 ? SentimentLabel::kNegative : best == 2 ? SentimentLabel::kPositive : SentimentLabel::kNeutral;
    return s;
}

bool RaisesPriority(bool rule_enabled, double threshold, double score) { return rule_enabled && score <= threshold; }

SentimentTrend TrendOf(const std::vector<double>& oldest_first) {
    SentimentTrend out;
    const std::size_t n = oldest_first.size();
    if (n == 0) return out;
    double sum = 0;
    for (const double s : oldest_first) sum += s;
    out.average = sum / static_cast<double>(n);
    out.latest = oldest_first.back();
    if (n >= 2) {
        const std::size_t half = n / 2;
        double first = 0;
        double second = 0;
        for (std::size_t i = 0; i < half; ++i) first += oldest_first[i];
        for (std::size_t i = n - half; i < n; ++i) second += oldest_first[i];
        out.trend = second / static_cast<double>(half) - first / static_cast<double>(half);
    }
    return out;
}

TrendDirection DirectionOf(double trend) {
    if (trend >= kTrendStep) return TrendDirection::kImproving;
    if (trend <= -kTrendStep) return TrendDirection::kWorsening;
    return TrendDirection::kSteady;
}

}  // namespace crm::support::domain
