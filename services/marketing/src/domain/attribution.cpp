#include "domain/attribution.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace crm::marketing::domain {

const char* ModelName(AttributionModel model) {
    switch (model) {
        case AttributionModel::kFirstTouch:
            return "first_touch";
        case AttributionModel::kLastTouch:
            return "last_touch";
        case AttributionModel::kLinear:
            return "linear";
        case AttributionModel::kUShaped:
            return "u_shaped";
        case AttributionModel::kTimeDecay:
            return "time_decay";
    }
    return "";
}

std::vector<std::int64_t> Apportion(std::int64_t amount, const std::vector<std::int64_t>& weights) {
    const __int128 total = std::accumulate(weights.begin(), weights.end(), __int128{0});
    std::vector<std::int64_t> parts(weights.size(), 0);
    if (total <= 0 || amount <= 0) return parts;
    std::vector<std::pair<__int128, std::size_t>> remainders;
    std::int64_t given = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const __int128 exact = static_cast<__int128>(amount) * weights[i];
        parts[i] = static_cast<std::int64_t>(exact / total);
        given += parts[i];
        remainders.emplace_back(exact % total, i);
    }
    std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (std::size_t k = 0; given < amount; ++k, ++given) ++parts[remainders[k % remainders.size()].second];
    return parts;
}

std::map<std::string, std::int64_t> Attribute(AttributionModel model, std::vector<AttributionTouch> touches,
                                              std::int64_t amount_minor, std::int64_t close_micros) {
    std::erase_if(touches, [&](const AttributionTouch& t) { return t.micros > close_micros; });
    std::sort(touches.begin(), touches.end(), [](const AttributionTouch& a, const AttributionTouch& b) {
        return a.micros != b.micros ? a.micros < b.micros : a.campaign_id < b.campaign_id;
    });
    std::map<std::string, std::int64_t> out;
    const std::size_t n = touches.size();
    if (n == 0) return out;
    std::vector<std::int64_t> weights(n, 0);
    switch (model) {
        case AttributionModel::kFirstTouch:
            weights[0] = 1;
            break;
        case AttributionModel::kLastTouch:
            weights[n - 1] = 1;
            break;
        case AttributionModel::kLinear:
            std::fill(weights.begin(), weights.end(), 1);
            break;
        case AttributionModel::kUShaped:
            if (n <= 2) {
                std::fill(weights.begin(), weights.end(), 1);
            } else {  // 40% first, 40% last, 20% over the middle: in units of 1/(100 (n-2))
                std::fill(weights.begin(), weights.end(), 20);
                weights[0] = weights[n - 1] = 40 * static_cast<std::int64_t>(n - 2);
            }
            break;
        case AttributionModel::kTimeDecay:
            // 2^(-age / half-life), in units of 2^-40 (a touch a year old still weighs > 0 at that scale).
            for (std::size_t i = 0; i < n; ++i) {
                const double age = static_cast<double>(close_micros - touches[i].micros);
                weights[i] =
                    std::max<std::int64_t>(1, std::llround(std::ldexp(std::exp2(-age / kTimeDecayHalfLifeMicros), 40)));
            }
            break;
    }
    const std::vector<std::int64_t> parts = Apportion(amount_minor, weights);
    for (std::size_t i = 0; i < n; ++i) {
        if (parts[i] > 0 || weights[i] > 0) out[touches[i].campaign_id] += parts[i];
    }
    std::erase_if(out, [](const auto& kv) { return kv.second == 0; });
    return out;
}

}  // namespace crm::marketing::domain
