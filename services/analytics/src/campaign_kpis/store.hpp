#pragma once
// The campaign read model in PostgreSQL (migrations/0010_campaign_kpis.sql). Every function runs in a transaction the
// caller opened for one tenant (Db::InTenant or the consumer's); the SQL filters by tenant_id as well. Include from
// application code only (pqxx).
#include <string>

#include "campaign_kpis/facts.hpp"
#include "crm/common/db.hpp"

namespace crm::analytics::campaign {

// Inserts the facts; a row whose key exists is left as it is.
void Apply(common::Db& db, pqxx::work& tx, const std::string& tenant, const CampaignFacts& facts);

// What a KPI read over [from, to) needs; `campaign_id` empty = every campaign.
PeriodInputs LoadFor(common::Db& db, pqxx::work& tx, const std::string& tenant, Micros from, Micros to,
                     const std::string& campaign_id);

}  // namespace crm::analytics::campaign
