// Unit tests of the predictive model: AUC, determinism, and ranking of a held-out set on synthetic data with signal.
#include "domain/model.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace crm::leads::domain;

namespace {
// Synthetic leads: conversion odds rise with whitepaper downloads, a referral source and company size; noise makes
// the classes overlap.
std::vector<LeadSample> Synthetic(int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<LeadSample> out;
    for (int i = 0; i < n; ++i) {
        LeadSample s;
        const bool referral = unit(rng) < 0.3;
        s.fields.source = referral ? "referral" : (unit(rng) < 0.5 ? "web" : "cold_call");
        const int downloads = static_cast<int>(unit(rng) * 4);
        for (int d = 0; d < downloads; ++d) s.engagements.push_back({"whitepaper_download", unit(rng) * 30, false});
        const int employees = static_cast<int>(unit(rng) * 1000);
        s.fields.attributes["employees"] = std::to_string(employees);
        s.fields.email = "lead" + std::to_string(i) + "@example.com";
        const double z = -2.0 + 0.9 * downloads + (referral ? 1.2 : 0) + employees / 800.0 + (unit(rng) - 0.5) * 2;
        s.converted = unit(rng) < 1.0 / (1.0 + std::exp(-z));
        out.push_back(std::move(s));
    }
    return out;
}
}  // namespace

TEST_CASE("AUC counts ordered pairs, ties half", "[leads][model]") {
    CHECK(Auc({0.1, 0.2, 0.8, 0.9}, {false, false, true, true}) == Approx(1.0));
    CHECK(Auc({0.9, 0.8, 0.2, 0.1}, {false, false, true, true}) == Approx(0.0));
    CHECK(Auc({0.5, 0.5}, {false, true}) == Approx(0.5));
    CHECK(Auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}) == Approx(0.75));
    CHECK(Auc({0.1, 0.2}, {true, true}) == Approx(0.5));
}

TEST_CASE("a trained model ranks a held-out set clearly better than chance", "[leads][model]") {
    const std::vector<LeadSample> all = Synthetic(600, 7);
    const std::vector<LeadSample> train(all.begin(), all.begin() + 400);
    const std::vector<LeadSample> held_out(all.begin() + 400, all.end());
    const Model model = Train(train);
    CHECK(model.positives + model.negatives == 400);
    CHECK(model.positives > 50);
    CHECK(model.negatives > 50);

    std::vector<double> scores;
    std::vector<bool> labels;
    for (const auto& s : held_out) {
        const double p = Predict(model, s);
        CHECK(p >= 0.0);
        CHECK(p <= 1.0);
        scores.push_back(p);
        labels.push_back(s.converted);
    }
    const double auc = Auc(scores, labels);
    INFO("held-out AUC " << auc << ", training AUC " << model.training_auc);
    CHECK(auc > 0.7);

    // The signal features carry positive weight.
    auto weight = [&](const std::string& name) {
        for (size_t i = 0; i < model.features.size(); ++i) {
            if (model.features[i] == name) return model.weights[i];
        }
        FAIL("no feature " << name);
        return 0.0;
    };
    CHECK(weight("engagement:whitepaper_download") > 0.3);
    CHECK(weight("source=referral") > 0.1);
    CHECK(weight("attributes.employees") > 0.1);

    // Top factors of a strong lead name the downloads first or second, all positive.
    LeadSample strong;
    strong.fields.source = "referral";
    strong.fields.attributes["employees"] = "950";
    for (int d = 0; d < 3; ++d) strong.engagements.push_back({"whitepaper_download", 1, false});
    const auto factors = TopFactors(model, strong, 3);
    REQUIRE(factors.size() == 3);
    CHECK(factors[0].second > 0);
    CHECK(Predict(model, strong) > Predict(model, LeadSample{}));
}

TEST_CASE("training is deterministic and noise gives chance-level ranking", "[leads][model]") {
    const std::vector<LeadSample> data = Synthetic(200, 11);
    const Model a = Train(data);
    const Model b = Train(data);
    CHECK(a.weights == b.weights);
    CHECK(a.intercept == b.intercept);

    // Labels independent of the features: the held-out AUC stays near 0.5.
    std::mt19937 rng(3);
    std::vector<LeadSample> noise = Synthetic(800, 5);
    for (auto& s : noise) s.converted = (rng() % 2) == 0;
    const Model m = Train(std::vector<LeadSample>(noise.begin(), noise.begin() + 400));
    std::vector<double> scores;
    std::vector<bool> labels;
    for (size_t i = 400; i < noise.size(); ++i) {
        scores.push_back(Predict(m, noise[i]));
        labels.push_back(noise[i].converted);
    }
    CHECK(Auc(scores, labels) < 0.62);
}
