#pragma once
// The assignment area: the tenant's assignment configuration (teams of reps with a capacity, routing rules by country,
// region and source, a default team, SLA minutes per priority), the round-robin pick of an owner within a team, and
// assigning a lead (explicitly or by the rules). Capture assigns a new lead without an owner in its own transaction.
#include <crm/leads/v1/leads.pb.h>

#include <optional>
#include <string>

#include "crm/common/rpc.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::leads::assignment {

namespace v1 = crm::leads::v1;

// The tenant's configuration (empty when never set), inside the caller's transaction.
v1::AssignmentConfig LoadConfig(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant);

struct Pick {
    std::string owner_id;
    std::string team_id;
};
// Routes the lead (first matching rule, else the default team) and picks the next member of that team with capacity,
// round-robin. nullopt when no team matches; a Pick with an empty owner_id when every member is at capacity.
std::optional<Pick> Route(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant,
                          const v1::AssignmentConfig& config, const v1::Lead& lead);

class Assignment {
  public:
    Assignment(common::Db& db, common::Outbox& outbox);

    v1::AssignmentConfig GetConfig(const common::RequestContext& rc);
    // Replaces the configuration (validated by the caller).
    v1::AssignmentConfig UpdateConfig(const common::RequestContext& rc, const v1::AssignmentConfig& config);
    // To owner_id when given, else by the rules (FAILED_PRECONDITION NO_MATCHING_TEAM / TEAM_AT_CAPACITY).
    // LeadAssigned.
    v1::Lead AssignLead(const common::RequestContext& rc, const std::string& id, const std::string& owner_id,
                        const std::string& etag);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

}  // namespace crm::leads::assignment
