#pragma once
// Inside the lifecycle area only: a row of the lead columns (sql::kLeadColumns order) as a lead.
#include <crm/leads/v1/leads.pb.h>

#include <pqxx/row>

namespace crm::leads::lifecycle {

crm::leads::v1::Lead ReadLead(const pqxx::row& row);

}  // namespace crm::leads::lifecycle
