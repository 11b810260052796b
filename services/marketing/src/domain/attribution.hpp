#pragma once
// Closed-loop attribution as pure arithmetic: a won amount (integer minor units of one currency) split across the
// touches that preceded the win under the first-touch, last-touch, linear, U-shaped (40/20/40) and time-decay (7-day
// half-life) models, exactly: every touch gets a whole number of minor units and the parts sum to the amount
// (largest remainders, ties to the earlier touch).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crm::marketing::domain {

enum class AttributionModel { kFirstTouch, kLastTouch, kLinear, kUShaped, kTimeDecay };
inline constexpr AttributionModel kAllModels[] = {AttributionModel::kFirstTouch, AttributionModel::kLastTouch,
                                                  AttributionModel::kLinear, AttributionModel::kUShaped,
                                                  AttributionModel::kTimeDecay};
const char* ModelName(AttributionModel model);  // "first_touch", ...

struct AttributionTouch {
    std::string campaign_id;
    std::int64_t micros = 0;
};

inline constexpr std::int64_t kTimeDecayHalfLifeMicros = 7LL * 86'400'000'000;

// Splits `amount_minor` (>= 0) over `touches` (any order; sorted here by time, then campaign id) that happened at or
// before `close_micros`; touches after it are ignored. Returns the amount per campaign (campaigns without a share are
// absent); empty when there is no touch. The values sum to amount_minor exactly.
std::map<std::string, std::int64_t> Attribute(AttributionModel model, std::vector<AttributionTouch> touches,
                                              std::int64_t amount_minor, std::int64_t close_micros);

// Splits `amount` in proportion to non-negative integer `weights` (sum > 0) into whole units summing to amount:
// floors, then one unit each to the largest remainders (ties: the lower index). Exposed for tests.
std::vector<std::int64_t> Apportion(std::int64_t amount, const std::vector<std::int64_t>& weights);

}  // namespace crm::marketing::domain
