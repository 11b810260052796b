#pragma once
// The statements of the leads service's retention rule (retention.hpp), named for crm_db_query_duration_seconds and
// EXPLAINed as the app role by the leads EXPLAIN test.
#include "crm/common/db.hpp"

namespace crm::leads::retention::sql {

// The engagements are found by lead_engagements_lead for the batch's ids (= ANY of an array: an index probe per id,
// never a scan of the tenant's engagements). $1 tenant, $2 cutoff (µs since the epoch), $3 the action (count) or the
// batch size (delete, anonymise). Rows locked by a writer are left to the next batch or run.
#define CRM_LEADS_AGED                                                                       \
    "SELECT id FROM leads WHERE tenant_id = $1 AND status <> 'CONVERTED' AND update_time < " \
    "to_timestamp($2::bigint / 1000000.0)"
constexpr common::Sql kCount{"retention_leads_count", "SELECT count(*) FROM (" CRM_LEADS_AGED
                                                      " AND ($3 = 'DELETE' OR anonymise_time IS NULL)) aged"};
constexpr common::Sql kDelete{"retention_leads_delete", R"SQL(
WITH doomed AS ()SQL" CRM_LEADS_AGED R"SQL( ORDER BY update_time LIMIT $3 FOR UPDATE SKIP LOCKED),
     engagements AS (DELETE FROM lead_engagements
                     WHERE tenant_id = $1 AND lead_id = ANY (ARRAY(SELECT id FROM doomed)))
DELETE FROM leads WHERE tenant_id = $1 AND id IN (SELECT id FROM doomed) RETURNING id::text)SQL"};
constexpr common::Sql kAnonymise{"retention_leads_anonymise", R"SQL(
WITH doomed AS ()SQL" CRM_LEADS_AGED R"SQL( AND anonymise_time IS NULL ORDER BY update_time LIMIT $3
                FOR UPDATE SKIP LOCKED),
     engagements AS (UPDATE lead_engagements SET detail = ''
                     WHERE tenant_id = $1 AND lead_id = ANY (ARRAY(SELECT id FROM doomed)))
UPDATE leads SET given_name = '', family_name = '', email = '', phone = '', company_name = '', job_title = '',
                 region = '', notes = '', status_reason = '', consent_text = '', attributes = '{}',
                 email_index = '', phone_index = '',
                 anonymise_time = clock_timestamp()
 WHERE tenant_id = $1 AND id IN (SELECT id FROM doomed) RETURNING id::text)SQL"};

}  // namespace crm::leads::retention::sql
