#include "sla/sla.hpp"

#include "crm/common/db.hpp"
#include "crm/common/outbox.hpp"
#include "crm/leads/events/v1/events.pb.h"
#include "lifecycle/lifecycle.hpp"
#include "sla/sql.hpp"

namespace crm::leads::sla {

namespace ev1 = crm::leads::events::v1;

std::optional<std::int64_t> FirstTouchSeconds(const v1::AssignmentConfig& config, v1::LeadPriority priority) {
    if (priority == v1::LEAD_PRIORITY_UNSPECIFIED) priority = v1::LEAD_PRIORITY_MEDIUM;
    for (const auto& p : config.sla_policies()) {
        if (p.priority() == priority) return static_cast<std::int64_t>(p.first_touch_minutes()) * 60;
    }
    return std::nullopt;
}

Sla::Sla(common::Db& db, common::Outbox& outbox) : db_(db), outbox_(outbox) {}

std::vector<std::pair<std::string, std::string>> Sla::DueLeads(int limit) {
    return db_.InTenant(std::string(), [&](pqxx::work& tx) {
        db_.Exec(tx, sql::kMaintenanceOn);
        std::vector<std::pair<std::string, std::string>> due;
        for (const auto& row : db_.Exec(tx, sql::kDueSla, limit)) {
            due.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
        }
        return due;
    });
}

bool Sla::Breach(const std::string& tenant, const std::string& id) {
    return db_.InTenant(tenant, [&](pqxx::work& tx) {
        if (db_.Exec(tx, sql::kBreachSla, tenant, id).empty()) return false;
        const v1::Lead lead = lifecycle::LoadLead(db_, tx, tenant, id);
        ev1::LeadSlaBreached event;
        *event.mutable_lead() = lead;
        *event.mutable_first_touch_deadline() = lead.first_touch_deadline();
        *event.mutable_detect_time() = lead.sla_breach_time();
        event.set_owner_id(lead.owner_id());
        event.set_priority(lead.priority());
        outbox_.Append(tx, tenant, "", common::NewEvent{lifecycle::kAggregateType, lead.id(), lead.version(), event});
        return true;
    });
}

}  // namespace crm::leads::sla
