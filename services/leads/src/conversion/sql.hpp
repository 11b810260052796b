#pragma once
// Statements of the conversion area. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"

namespace crm::leads::conversion::sql {

using common::Sql;

// Marks a lead (locked by the caller, still at version $8) converted with what the saga produced; the conversion
// counts as the first touch.
inline constexpr Sql kMarkConverted{"leads_mark_converted", R"SQL(
UPDATE leads SET status = 'CONVERTED', contact_id = $3::uuid, company_id = $4::uuid, opportunity_id = $5,
  contact_existed = $6, company_existed = $7, convert_time = now(),
  first_touch_time = COALESCE(first_touch_time, now()), version = version + 1, update_time = now()
WHERE tenant_id = $1 AND id = $2::uuid AND version = $8
RETURNING id::text)SQL"};

}  // namespace crm::leads::conversion::sql
