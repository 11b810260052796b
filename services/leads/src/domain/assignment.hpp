#pragma once
// Pure rules of lead assignment: which team a lead is routed to, and the round-robin pick among the team's members
// under their capacity.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crm::leads::domain {

// A routing rule: every non-empty criterion must match the lead (ignoring case).
struct RouteRule {
    std::string country, region, source;
    std::string team_id;
};

// The team of the first rule matching (country, region, source), else default_team_id ("" = none).
std::string RouteTeam(const std::vector<RouteRule>& rules, const std::string& default_team_id,
                      const std::string& country, const std::string& region, const std::string& source);

struct Member {
    std::string user_id;
    int max_open_leads = 0;  // 0 = unlimited
    int open_leads = 0;
};
// Round-robin from `position`: the first member at or after position (mod n) with capacity. Returns the member's
// index, or nullopt when every member is full. The next position is index + 1.
std::optional<size_t> PickRoundRobin(const std::vector<Member>& members, std::int64_t position);

}  // namespace crm::leads::domain
