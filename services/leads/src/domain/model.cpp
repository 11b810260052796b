#include "domain/model.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace crm::leads::domain {
namespace {

constexpr size_t kMaxCategories = 20;

double Sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    const double e = std::exp(z);
    return e / (1.0 + e);
}

}  // namespace

std::vector<std::string> FeatureSpace(const std::vector<LeadSample>& samples) {
    std::vector<std::string> features = {"priority",    "rule_score",    "has_email",   "has_phone",
                                         "has_company", "has_job_title", "engagements", "outbound_touches"};
    // Categorical values seen in the data, most frequent first (ties by name), capped.
    auto top = [&](auto&& values_of, const std::string& prefix) {
        std::map<std::string, int> counts;
        for (const auto& s : samples) {
            for (const std::string& value : values_of(s)) ++counts[value];
        }
        std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        for (size_t i = 0; i < sorted.size() && i < kMaxCategories; ++i) features.push_back(prefix + sorted[i].first);
    };
    top(
        [](const LeadSample& s) {
            return s.fields.source.empty() ? std::vector<std::string>{} : std::vector<std::string>{s.fields.source};
        },
        "source=");
    top(
        [](const LeadSample& s) {
            std::set<std::string> types;
            for (const auto& e : s.engagements) types.insert(e.type);
            return std::vector<std::string>(types.begin(), types.end());
        },
        "engagement:");
    top(
        [](const LeadSample& s) {
            std::vector<std::string> keys;
            for (const auto& [k, v] : s.fields.attributes) {
                if (ParseNumber(v)) keys.push_back(k);
            }
            return keys;
        },
        "attributes.");
    return features;
}

std::vector<double> Featurize(const std::vector<std::string>& features, const LeadSample& s) {
    std::vector<double> x;
    x.reserve(features.size());
    for (const std::string& name : features) {
        double value = 0;
        if (name == "priority") {
            value = static_cast<double>(s.fields.priority);
        } else if (name == "rule_score") {
            value = s.rule_score;
        } else if (name == "has_email") {
            value = s.fields.email.empty() ? 0 : 1;
        } else if (name == "has_phone") {
            value = s.fields.phone.empty() ? 0 : 1;
        } else if (name == "has_company") {
            value = s.fields.company_name.empty() ? 0 : 1;
        } else if (name == "has_job_title") {
            value = s.fields.job_title.empty() ? 0 : 1;
        } else if (name == "engagements") {
            value = static_cast<double>(s.engagements.size());
        } else if (name == "outbound_touches") {
            value = static_cast<double>(std::count_if(s.engagements.begin(), s.engagements.end(),
                                                      [](const EngagementFact& e) { return e.outbound; }));
        } else if (name.rfind("source=", 0) == 0) {
            value = s.fields.source == name.substr(7) ? 1 : 0;
        } else if (name.rfind("engagement:", 0) == 0) {
            const std::string type = name.substr(11);
            value = static_cast<double>(std::count_if(s.engagements.begin(), s.engagements.end(),
                                                      [&](const EngagementFact& e) { return e.type == type; }));
        } else if (name.rfind("attributes.", 0) == 0) {
            auto it = s.fields.attributes.find(name.substr(11));
            if (it != s.fields.attributes.end()) value = ParseNumber(it->second).value_or(0);
        }
        x.push_back(value);
    }
    return x;
}

double Auc(const std::vector<double>& scores, const std::vector<bool>& labels) {
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    // Mann-Whitney U with average ranks for ties.
    double rank_sum = 0;
    size_t positives = 0;
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
        const double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2.0;  // 1-based
        for (size_t k = i; k < j; ++k) {
            if (labels[order[k]]) {
                rank_sum += avg_rank;
                ++positives;
            }
        }
        i = j;
    }
    const size_t negatives = scores.size() - positives;
    if (positives == 0 || negatives == 0) return 0.5;
    const double p = static_cast<double>(positives);
    return (rank_sum - p * (p + 1) / 2.0) / (p * static_cast<double>(negatives));
}

Model Train(const std::vector<LeadSample>& samples, const TrainSettings& settings) {
    Model m;
    m.features = FeatureSpace(samples);
    const size_t n = samples.size(), d = m.features.size();
    std::vector<std::vector<double>> x;
    x.reserve(n);
    std::vector<double> y(n);
    for (size_t i = 0; i < n; ++i) {
        x.push_back(Featurize(m.features, samples[i]));
        y[i] = samples[i].converted ? 1.0 : 0.0;
        (samples[i].converted ? m.positives : m.negatives)++;
    }
    m.mean.assign(d, 0);
    m.scale.assign(d, 1);
    for (size_t j = 0; j < d && n > 0; ++j) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n; ++i) sum += x[i][j];
        const double mean = sum / static_cast<double>(n);
        for (size_t i = 0; i < n; ++i) sq += (x[i][j] - mean) * (x[i][j] - mean);
        const double sd = std::sqrt(sq / static_cast<double>(n));
        m.mean[j] = mean;
        m.scale[j] = sd > 1e-9 ? sd : 1.0;
        for (size_t i = 0; i < n; ++i) x[i][j] = (x[i][j] - mean) / m.scale[j];
    }
    m.weights.assign(d, 0);
    m.intercept = 0;
    std::vector<double> grad(d);
    for (int it = 0; it < settings.iterations && n > 0; ++it) {
        std::fill(grad.begin(), grad.end(), 0.0);
        double grad_b = 0;
        for (size_t i = 0; i < n; ++i) {
            double z = m.intercept;
            for (size_t j = 0; j < d; ++j) z += m.weights[j] * x[i][j];
            const double err = Sigmoid(z) - y[i];
            grad_b += err;
            for (size_t j = 0; j < d; ++j) grad[j] += err * x[i][j];
        }
        const double inv = 1.0 / static_cast<double>(n);
        m.intercept -= settings.learning_rate * grad_b * inv;
        for (size_t j = 0; j < d; ++j) {
            m.weights[j] -= settings.learning_rate * (grad[j] * inv + settings.l2 * m.weights[j]);
        }
    }
    std::vector<double> scores;
    std::vector<bool> labels;
    for (const auto& s : samples) {
        scores.push_back(Predict(m, s));
        labels.push_back(s.converted);
    }
    m.training_auc = Auc(scores, labels);
    return m;
}

double Predict(const Model& m, const LeadSample& sample) {
    const std::vector<double> x = Featurize(m.features, sample);
    double z = m.intercept;
    for (size_t j = 0; j < x.size(); ++j) z += m.weights[j] * (x[j] - m.mean[j]) / m.scale[j];
    return Sigmoid(z);
}

std::vector<std::pair<std::string, double>> TopFactors(const Model& m, const LeadSample& sample, int top) {
    const std::vector<double> x = Featurize(m.features, sample);
    std::vector<std::pair<std::string, double>> out;
    for (size_t j = 0; j < x.size(); ++j)
        out.emplace_back(m.features[j], m.weights[j] * (x[j] - m.mean[j]) / m.scale[j]);
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return std::abs(a.second) > std::abs(b.second); });
    if (out.size() > static_cast<size_t>(std::max(0, top))) out.resize(static_cast<size_t>(std::max(0, top)));
    return out;
}

}  // namespace crm::leads::domain
