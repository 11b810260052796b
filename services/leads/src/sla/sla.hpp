#pragma once
// The sla area: first-touch deadlines (from the SLA minutes per priority of the tenant's assignment configuration) and
// their breaches: leads whose deadline passed without a touch get one LeadSlaBreached each.
#include <crm/leads/v1/leads.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crm::common {
class Db;
class Outbox;
}  // namespace crm::common

namespace crm::leads::sla {

namespace v1 = crm::leads::v1;

// Seconds from a lead's creation to its first-touch deadline under the configuration's policy for the priority
// (UNSPECIFIED counts as MEDIUM); nullopt when there is no policy for it.
std::optional<std::int64_t> FirstTouchSeconds(const v1::AssignmentConfig& config, v1::LeadPriority priority);

class Sla {
  public:
    Sla(common::Db& db, common::Outbox& outbox);

    // Leads of every tenant whose deadline passed without a touch and without a breach: (tenant, id), earliest first.
    std::vector<std::pair<std::string, std::string>> DueLeads(int limit);
    // Breaches one lead in a transaction of its tenant: sla_breach_time set, LeadSlaBreached appended. false when it
    // was touched or breached meanwhile, or is locked by a writer right now (a later scan retries it).
    bool Breach(const std::string& tenant, const std::string& id);

  private:
    common::Db& db_;
    common::Outbox& outbox_;
};

}  // namespace crm::leads::sla
