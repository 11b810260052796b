#pragma once
// Statements of the cases area: the case record (every whole-row read and write of `cases`), the case numbers and
// the list. Names appear in crm_db_query_duration_seconds{query}.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"

namespace crm::support::cases::sql {

using common::Sql;

#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT(n) "timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond'"

// Columns of a case, in the order ReadCase expects; the last one is the wrapped data key of the case, which opens its
// sealed columns (migration 0104).
#define CRM_CASE_COLUMNS \
    "id::text, number, subject, description, contact_id::text, company_id::text, product, asset_id, priority, "    \
    "status, category, array_to_json(tags)::text, channel, assignee_id, language, customer_tier, "                 \
    "custom_fields::text, " CRM_MICROS("first_response_time") ", " CRM_MICROS("solve_time") ", " CRM_MICROS(      \
        "close_time") ", reopen_count, merged_into_id::text, message_count, version, " CRM_MICROS("create_time") \
                      ", " CRM_MICROS("update_time") ", customer_email, queue_id::text, " CRM_SUBJECT_KEY_COLUMN("cases.tenant_id", "cases.id::text")

// The tenant's next case number (the row lock serializes concurrent creates of one tenant).
inline constexpr Sql kNextNumber{"cases_next_number", R"SQL(
INSERT INTO case_counters (tenant_id, last_number) VALUES ($1, 1)
ON CONFLICT (tenant_id) DO UPDATE SET last_number = case_counters.last_number + 1
RETURNING last_number)SQL"};

inline constexpr Sql kInsertCase{
    "cases_insert",
    "INSERT INTO cases (tenant_id, id, number, subject, description, contact_id, company_id, product, asset_id, "
    "priority, category, tags, channel, language, customer_tier, custom_fields, customer_email, customer_email_index) "
    "VALUES ($1, $2::uuid, $3, $4, $5, $6::uuid, $7::uuid, $8, $9, $10, $11, "
    "ARRAY(SELECT jsonb_array_elements_text($12::jsonb)), $13, $14, $15, $16, $17, $18) RETURNING " CRM_CASE_COLUMNS};

inline constexpr Sql kGetCase{"cases_get",
                              "SELECT " CRM_CASE_COLUMNS " FROM cases WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kGetCaseForUpdate{
    "cases_get_for_update", "SELECT " CRM_CASE_COLUMNS " FROM cases WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE"};

// A contact's cases for the customer view in one statement: those not solved, closed or merged yet (oldest first, at
// most $3) and the latest (newest first, at most $4), the last column true for the first kind; both through
// cases_tenant_contact. The caller orders each kind (a UNION ALL keeps no order).
inline constexpr Sql kContactCases{"cases_of_contact", "(SELECT " CRM_CASE_COLUMNS R"SQL(, true FROM cases
 WHERE tenant_id = $1 AND contact_id = $2::uuid AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD')
 ORDER BY cases.create_time, cases.id LIMIT $3::int)
UNION ALL
(SELECT )SQL" CRM_CASE_COLUMNS R"SQL(, false FROM cases WHERE tenant_id = $1 AND contact_id = $2::uuid
 ORDER BY cases.create_time DESC, cases.id DESC LIMIT $4::int))SQL"};

// One page of cases, oldest first, after the keyset ($2 micros, $3 id); each filter ($5 status, $6 assignee, $7
// contact) applies when not NULL. Run with its parameters (a custom plan), a given filter is the index prefix.
inline constexpr Sql kListCases{"cases_list", "SELECT " CRM_CASE_COLUMNS R"SQL(
 FROM cases WHERE tenant_id = $1
  AND ($5::text IS NULL OR status = $5) AND ($6::text IS NULL OR assignee_id = $6)
  AND ($7::uuid IS NULL OR contact_id = $7::uuid)
  AND (create_time, id) > (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)
 ORDER BY create_time, id LIMIT $4::int)SQL"};

// Writes every column a change may change, with an optimistic version check ($22).
inline constexpr Sql kWriteCase{
    "cases_write",
    "UPDATE cases SET subject = $3, description = $4, contact_id = $5::uuid, company_id = $6::uuid, product = $7, "
    "asset_id = $8, priority = $9, status = $10, category = $11, "
    "tags = ARRAY(SELECT jsonb_array_elements_text($12::jsonb)), assignee_id = $13, language = $14, "
    "customer_tier = $15, custom_fields = $16, first_response_time = " CRM_AT(17) ", solve_time = " CRM_AT(
        18) ", close_time = " CRM_AT(19) ", reopen_count = $20, merged_into_id = $21::uuid, message_count = $23, "
                                         "version = version + $24, update_time = now(), queue_id = $25::uuid "
                                         "WHERE tenant_id = $1 AND id = $2::uuid AND version = $22 RETURNING " CRM_CASE_COLUMNS};

inline constexpr Sql kCaseByNumber{"cases_by_number",
                                   "SELECT id::text FROM cases WHERE tenant_id = $1 AND number = $2"};

// Cases of a contact (a merged contact's cases follow the survivor), locked in id order.
inline constexpr Sql kCasesOfContact{
    "cases_ids_of_contact", "SELECT id::text FROM cases WHERE tenant_id = $1 AND contact_id = $2::uuid ORDER BY id"};

#undef CRM_CASE_COLUMNS
#undef CRM_AT
#undef CRM_MICROS

}  // namespace crm::support::cases::sql
