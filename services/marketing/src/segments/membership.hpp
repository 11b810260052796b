#pragma once
// Inside the segments area: membership changes and full evaluations, shared by the RPCs (segments.cpp) and the
// consumer's incremental updates (membership.cpp).
#include <string>
#include <vector>

#include "domain/segment.hpp"

namespace pqxx {
class transaction_base;
}

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::marketing::segments {

// The stored proto JSON of a rule as a domain rule.
domain::Rule StoredRule(const std::string& json);

// Counts the changes into the segment and writes SegmentMembershipChanged (ids in chunks of 1000 per event).
void EmitMembership(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                    const std::string& request_id, const std::string& segment_id,
                    const std::vector<std::string>& entered, const std::vector<std::string>& left);

// Brings a dynamic segment's members in line with its rule over the whole audience.
void EvaluateFully(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                   const std::string& request_id, const std::string& segment_id, const domain::Rule& rule);

}  // namespace crm::marketing::segments
