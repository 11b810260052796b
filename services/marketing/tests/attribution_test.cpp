// Attribution arithmetic: each model's split, exact in minor units, parts summing to the amount.
#include "domain/attribution.hpp"

#include <catch2/catch.hpp>
#include <numeric>
#include <random>

using namespace crm::marketing::domain;

namespace {
constexpr std::int64_t kDay = 86'400'000'000;
std::int64_t Sum(const std::map<std::string, std::int64_t>& parts) {
    std::int64_t s = 0;
    for (const auto& [k, v] : parts) s += v;
    return s;
}
}  // namespace

TEST_CASE("attribution: the five models on three campaigns and four touches") {
    const std::int64_t close = 100 * kDay;
    const std::vector<AttributionTouch> touches = {
        {"A", close - 30 * kDay}, {"B", close - 14 * kDay}, {"C", close - 7 * kDay}, {"B", close}};
    using M = AttributionModel;
    CHECK(Attribute(M::kFirstTouch, touches, 1000, close) == std::map<std::string, std::int64_t>{{"A", 1000}});
    CHECK(Attribute(M::kLastTouch, touches, 1000, close) == std::map<std::string, std::int64_t>{{"B", 1000}});
    CHECK(Attribute(M::kLinear, touches, 1000, close) ==
          std::map<std::string, std::int64_t>{{"A", 250}, {"B", 500}, {"C", 250}});
    // 40 / 10 / 10 / 40
    CHECK(Attribute(M::kUShaped, touches, 1000, close) ==
          std::map<std::string, std::int64_t>{{"A", 400}, {"B", 500}, {"C", 100}});
    // weights 2^(-30/7), 2^-2, 2^-1, 1 (in units of 2^-40): A 0.0513, B 0.25 + 1, C 0.5 of 1.8013
    const auto decay = Attribute(M::kTimeDecay, touches, 100000, close);
    CHECK(Sum(decay) == 100000);
    CHECK(decay.at("A") == 2847);
    CHECK(decay.at("C") == 27758);
    CHECK(decay.at("B") == 69395);
    // Touches after the close do not count.
    CHECK(Attribute(M::kLastTouch, {{"A", close - 1}, {"Z", close + 1}}, 7, close) ==
          std::map<std::string, std::int64_t>{{"A", 7}});
    CHECK(Attribute(M::kLinear, {}, 7, close).empty());
    // Two touches: U-shaped is half and half.
    CHECK(Attribute(M::kUShaped, {{"A", 1}, {"B", 2}}, 3, close) ==
          std::map<std::string, std::int64_t>{{"A", 2}, {"B", 1}});
}

TEST_CASE("attribution: remainders go to the largest fractions, ties to the earlier touch") {
    CHECK(Apportion(100, {1, 1, 1}) == std::vector<std::int64_t>{34, 33, 33});
    CHECK(Apportion(2, {1, 1, 1}) == std::vector<std::int64_t>{1, 1, 0});
    CHECK(Apportion(10, {1, 2}) == std::vector<std::int64_t>{3, 7});
    CHECK(Apportion(0, {1, 2}) == std::vector<std::int64_t>{0, 0});
    CHECK(Apportion(1'000'000'000'000'000, {3, 7, 11}) ==
          std::vector<std::int64_t>{142857142857143, 333333333333333, 523809523809524});
}

TEST_CASE("attribution: every model's parts sum to the amount (random touches and amounts)") {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 2000; ++round) {
        const std::int64_t close = 1000 * kDay;
        std::vector<AttributionTouch> touches;
        const int n = 1 + static_cast<int>(rng() % 12);
        for (int i = 0; i < n; ++i) {
            touches.push_back({std::string(1, static_cast<char>('A' + rng() % 5)),
                               close - static_cast<std::int64_t>(rng() % (400 * kDay))});
        }
        const std::int64_t amount = static_cast<std::int64_t>(rng() % 1'000'000'000'000'000);
        for (AttributionModel m : kAllModels) {
            const auto parts = Attribute(m, touches, amount, close);
            INFO(ModelName(m) << " " << amount);
            CHECK(Sum(parts) == amount);
            for (const auto& [k, v] : parts) CHECK(v > 0);
        }
    }
}
