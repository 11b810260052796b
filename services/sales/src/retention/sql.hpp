#pragma once
// The statements of the sales service's retention rule (retention.hpp), named for crm_db_query_duration_seconds and
// EXPLAINed as the app role by the sales EXPLAIN test.
#include "crm/common/db.hpp"

namespace crm::sales::retention::sql {

// $1 tenant, $2 cutoff (µs since the epoch), $3 the action (count) or the batch size (delete, anonymise). Rows locked
// by a writer are left to the next batch or run.
#define CRM_SALES_AGED                                                                             \
    "SELECT id FROM activities WHERE tenant_id = $1 AND status = 'COMPLETED' AND complete_time < " \
    "to_timestamp($2::bigint / 1000000.0)"
constexpr common::Sql kCount{"retention_activities_count", "SELECT count(*) FROM (" CRM_SALES_AGED
                                                           " AND ($3 = 'DELETE' OR anonymise_time IS NULL)) aged"};
constexpr common::Sql kDelete{"retention_activities_delete",
                              "DELETE FROM activities WHERE tenant_id = $1 AND id IN (" CRM_SALES_AGED
                              " ORDER BY complete_time LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id::text"};
// The subject must stay non-empty (a CHECK of the table): it becomes a fixed marker.
constexpr common::Sql kAnonymise{"retention_activities_anonymise",
                                 "UPDATE activities SET subject = '(removed by retention)', description = '', "
                                 "outcome = '', anonymise_time = clock_timestamp() "
                                 "WHERE tenant_id = $1 AND id IN (" CRM_SALES_AGED
                                 " AND anonymise_time IS NULL ORDER BY complete_time LIMIT $3 FOR UPDATE SKIP LOCKED) "
                                 "RETURNING id::text"};

}  // namespace crm::sales::retention::sql
