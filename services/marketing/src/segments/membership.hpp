#pragma once
// Inside the segments area: membership changes and full evaluations, shared by the RPCs (segments.cpp) and the
// consumer's incremental updates (membership.cpp).
#include <crm/marketing/v1/marketing.pb.h>

#include <cstdint>
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

// A rule compiled for the tenant: e-mail equality through the addresses' blind indexes.
domain::CompiledRule Compile(const std::string& tenant, const domain::Rule& rule);

// The tenant's active people matching a rule that leaves conditions on sealed fields to the service (!exact): the
// rows its predicate does not exclude, in id order, each opened and decided by domain::EvaluateWithAtoms. `ids` all
// of them; `members` the first `keep` as the API shows them.
struct Matching {
    std::vector<std::string> ids;
    std::vector<crm::marketing::v1::AudienceMember> members;
};
Matching MatchOpened(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const domain::Rule& rule,
                     const domain::CompiledRule& compiled, std::int64_t now, std::size_t keep);

// Brings a dynamic segment's members in line with its rule over the whole audience.
void EvaluateFully(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx, const std::string& tenant,
                   const std::string& request_id, const std::string& segment_id, const domain::Rule& rule);

}  // namespace crm::marketing::segments
