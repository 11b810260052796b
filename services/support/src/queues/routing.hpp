#pragma once
// Inside the queues area: the assignment steps that queues.cpp (presence) and routing.cpp share.
#include <string>
#include <vector>

#include "queues/queues.hpp"

namespace crm::support::queues {

// An agent who just became available (their queues locked by the caller, with their membership in each) takes the
// oldest waiting cases of those queues their skills and languages fit, up to their free capacity. Returns the ids.
struct Membership {
    std::string queue_id;
    domain::Member member;
};
std::vector<std::string> TakeWaitingCases(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                                          const common::RequestContext& rc, const std::string& agent_id,
                                          const std::vector<Membership>& queues);

// A JSON array of strings ("[]" for SQL NULL arrays) as a vector.
std::vector<std::string> JsonStrings(const std::string& json);

}  // namespace crm::support::queues
