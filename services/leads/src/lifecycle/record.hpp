#pragma once
// Inside the lifecycle area only: a row of the lead columns (sql::kLeadColumns order) of `tenant` as a lead, its sealed
// columns opened with the row's data key.
#include <crm/leads/v1/leads.pb.h>

#include <pqxx/row>
#include <string>

namespace crm::leads::lifecycle {

crm::leads::v1::Lead ReadLead(const pqxx::row& row, const std::string& tenant);

}  // namespace crm::leads::lifecycle
