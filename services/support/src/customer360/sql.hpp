#pragma once
// Statements of the customer view: the ids of a person's cases (the records are read through the cases area). The
// ORDER BY names the table's columns: a bare "id" would be the output column id::text, which no index is sorted by.
#include "crm/common/db.hpp"

namespace crm::support::customer360::sql {

using common::Sql;

// Cases of the contact not solved, closed or merged yet, oldest first (cases_tenant_contact).
inline constexpr Sql kOpenCaseIds{"view_open_case_ids", R"SQL(
SELECT id::text FROM cases
 WHERE tenant_id = $1 AND contact_id = $2::uuid AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD')
 ORDER BY cases.create_time, cases.id LIMIT $3::int)SQL"};

// The contact's latest cases, newest first (cases_tenant_contact backwards).
inline constexpr Sql kRecentCaseIds{"view_recent_case_ids", R"SQL(
SELECT id::text FROM cases WHERE tenant_id = $1 AND contact_id = $2::uuid
 ORDER BY cases.create_time DESC, cases.id DESC LIMIT $3::int)SQL"};

}  // namespace crm::support::customer360::sql
