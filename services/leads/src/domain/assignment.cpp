#include "domain/assignment.hpp"

#include "crm/common/text.hpp"

namespace crm::leads::domain {

std::string RouteTeam(const std::vector<RouteRule>& rules, const std::string& default_team_id,
                      const std::string& country, const std::string& region, const std::string& source) {
    auto eq = [](const std::string& want, const std::string& have) {
        return want.empty() || common::text::AsciiLower(want) == common::text::AsciiLower(have);
    };
    for (const RouteRule& rule : rules) {
        if (eq(rule.country, country) && eq(rule.region, region) && eq(rule.source, source)) return rule.team_id;
    }
    return default_team_id;
}

std::optional<size_t> PickRoundRobin(const std::vector<Member>& members, std::int64_t position) {
    const auto n = static_cast<std::int64_t>(members.size());
    if (n == 0) return std::nullopt;
    const std::int64_t start = ((position % n) + n) % n;
    for (std::int64_t k = 0; k < n; ++k) {
        const auto i = static_cast<size_t>((start + k) % n);
        if (members[i].max_open_leads == 0 || members[i].open_leads < members[i].max_open_leads) return i;
    }
    return std::nullopt;
}

}  // namespace crm::leads::domain
