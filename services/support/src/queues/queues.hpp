#pragma once
// The queues area: queues with their members, the agents' presence, the tenant's routing rules, and routing itself:
// every new case (CreateCase, IngestEmail) goes through RouteNewCase inside its creation transaction; RouteCase routes
// an open case again; an agent becoming available takes the waiting cases of their queues. Assignments are race-safe
// across replicas: the queue row is locked first, then the available candidates' presence rows in agent order, and
// only then are the agents' loads counted (see sql.hpp).
#include <crm/support/v1/routing.pb.h>

#include <memory>
#include <string>
#include <vector>

#include "crm/common/paging.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/violations.hpp"
#include "domain/routing.hpp"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::support::queues {

namespace v1 = crm::support::v1;

// A queue from a request, checked (every violation under `prefix`, "queue."), with its normalized members.
struct CheckedQueue {
    v1::Queue queue;
    std::vector<domain::Member> members;
};
CheckedQueue CheckQueue(const v1::Queue& q, const std::string& prefix, bool create, common::Violations& violations);

// Routing rules from a request, checked (every violation under "routing_rules."), normalized.
v1::RoutingRules CheckRules(const v1::RoutingRules& rules, common::Violations& violations);

// Routes a case created in this transaction (after its CaseCreated was appended): the tenant's rules choose a queue,
// the queue an agent; the case is written with CaseAssigned and the routing kept (reason NEW_CASE). Returns the case
// as written, or unchanged when the tenant has no routing rules.
v1::Case RouteNewCase(common::Db& db, common::Outbox& outbox, pqxx::transaction_base& tx,
                      const common::RequestContext& rc, v1::Case c);

struct PresenceResult {
    v1::AgentPresence presence;
    std::vector<std::string> assigned_case_ids;
};

class Queues {
  public:
    Queues(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

    v1::Queue Create(const common::RequestContext& rc, const CheckedQueue& q, const std::string& request_id);
    v1::Queue Get(const common::RequestContext& rc, const std::string& id);
    common::Page<v1::Queue> List(const common::RequestContext& rc, int page_size, const std::string& page_token);
    // paths: resolved update mask over name, description, strategy, members, active.
    v1::Queue Update(const common::RequestContext& rc, const std::string& id, const CheckedQueue& patch,
                     const std::vector<std::string>& paths, const std::string& etag);

    v1::AgentPresence GetPresence(const common::RequestContext& rc, const std::string& agent_id);
    // The caller may set their own presence; support_manager and admin anyone's (else PERMISSION_DENIED).
    PresenceResult SetPresence(const common::RequestContext& rc, const std::string& agent_id, v1::Presence presence);

    v1::RoutingRules GetRules(const common::RequestContext& rc);
    // rules: checked. Every queue named must exist (INVALID_ARGUMENT naming the field); etag.
    v1::RoutingRules UpdateRules(const common::RequestContext& rc, const v1::RoutingRules& rules);

    // queue_id empty = by the rules.
    v1::RouteCaseResponse Route(const common::RequestContext& rc, const std::string& case_id,
                                const std::string& queue_id, const std::string& note, const std::string& etag);
    common::Page<v1::CaseRouting> ListRoutings(const common::RequestContext& rc, const std::string& case_id,
                                               int page_size, const std::string& page_token);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

}  // namespace crm::support::queues
