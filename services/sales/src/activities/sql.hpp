#pragma once
// Named SQL of the activities area (activities, their timelines and reminders). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy, except the reminder scheduler's discovery, which runs under the read-only scheduler policy.
#include "crm/common/db.hpp"
#include "crm/common/sealed_columns.hpp"
#include "sql_time.hpp"

namespace crm::sales::sql {

using common::Sql;

// clang-format off
// Column list read by ReadActivity, in this order: subject, description and outcome as stored (sealed, migration
// 0007), then the activity's wrapped data key, which opens them.
#define CRM_ACTIVITY_COLUMNS                                                                                        \
    "a.id::text, a.type, a.subject, a.description, coalesce(a.lead_id::text, ''), coalesce(a.contact_id::text, ''), " \
    "coalesce(a.company_id::text, ''), coalesce(a.opportunity_id::text, ''), " CRM_MICROS("a.due_time") ", "      \
    CRM_MICROS("a.remind_time") ", a.owner_id, a.status, " CRM_MICROS("a.complete_time") ", a.outcome, "          \
    CRM_MICROS("a.reminder_sent_time") ", " CRM_MICROS("a.create_time") ", " CRM_MICROS("a.update_time") ", a.version, " \
    CRM_SUBJECT_KEY_COLUMN("a.tenant_id", "a.id::text")
inline constexpr Sql kGetActivity{"sales_activity_get",
    "SELECT " CRM_ACTIVITY_COLUMNS " FROM activities a WHERE a.tenant_id = $1 AND a.id = $2::uuid"};
inline constexpr Sql kGetActivityForUpdate{"sales_activity_get_for_update",
    "SELECT " CRM_ACTIVITY_COLUMNS " FROM activities a WHERE a.tenant_id = $1 AND a.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kInsertActivity{"sales_activity_insert",
    "INSERT INTO activities (tenant_id, id, type, subject, description, lead_id, contact_id, company_id, "
    "opportunity_id, due_time, remind_time, remind_at, owner_id) VALUES ($1, $2::uuid, $3, $4, $5, $6::uuid, "
    "$7::uuid, $8::uuid, $9::uuid, " CRM_AT_MICROS("$10") ", " CRM_AT_MICROS("$11") ", coalesce("
    CRM_AT_MICROS("$11") ", " CRM_AT_MICROS("$10") "), $12)"};
// $8 = re-arm the reminder (due or remind time changed).
inline constexpr Sql kWriteActivity{"sales_activity_write",
    "UPDATE activities SET subject = $3, description = $4, owner_id = $5, due_time = " CRM_AT_MICROS("$6") ", "
    "remind_time = " CRM_AT_MICROS("$7") ", remind_at = CASE WHEN $8 THEN coalesce(" CRM_AT_MICROS("$7") ", "
    CRM_AT_MICROS("$6") ") ELSE remind_at END, reminder_sent_time = CASE WHEN $8 THEN NULL ELSE reminder_sent_time "
    "END, version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND version = $9 "
    "RETURNING id"};
inline constexpr Sql kCompleteActivity{"sales_activity_complete",
    "UPDATE activities SET status = 'COMPLETED', complete_time = now(), outcome = $3, remind_at = NULL, "
    "version = version + 1, update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
#define CRM_TIMELINE(col)                                                                                           \
    "SELECT " CRM_ACTIVITY_COLUMNS " FROM activities a WHERE a.tenant_id = $1 AND a." col " = $2::uuid"            \
    " AND (a.create_time, a.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY a.create_time DESC, a.id DESC LIMIT $5"
inline constexpr Sql kTimelineLead{"sales_timeline_lead", CRM_TIMELINE("lead_id")};
inline constexpr Sql kTimelineContact{"sales_timeline_contact", CRM_TIMELINE("contact_id")};
inline constexpr Sql kTimelineCompany{"sales_timeline_company", CRM_TIMELINE("company_id")};
inline constexpr Sql kTimelineOpportunity{"sales_timeline_opportunity", CRM_TIMELINE("opportunity_id")};
#undef CRM_TIMELINE

// Opens the read-only scheduler policy for the discovery statement that follows in the same transaction.
inline constexpr Sql kRemindersSchedulerOn{"sales_scheduler_on", "SELECT set_config('crm.scheduler', 'on', true)"};
// Scheduler discovery (crm.scheduler = 'on'): activities whose reminder is due, oldest first, across tenants.
inline constexpr Sql kDueActivities{"sales_reminders_due",
    "SELECT tenant_id, id::text FROM activities WHERE remind_at <= now() AND status = 'OPEN' "
    "ORDER BY remind_at LIMIT $1"};
// Claims due rows of one tenant (rows another replica holds are skipped), marks them and returns them.
inline constexpr Sql kClaimDueActivities{"sales_reminders_claim",
    "WITH due AS (SELECT id FROM activities WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND remind_at <= now() "
    "AND status = 'OPEN' FOR UPDATE SKIP LOCKED) "
    "UPDATE activities a SET remind_at = NULL, reminder_sent_time = now(), version = a.version + 1, "
    "update_time = now() FROM due WHERE a.tenant_id = $1 AND a.id = due.id RETURNING " CRM_ACTIVITY_COLUMNS};
#undef CRM_ACTIVITY_COLUMNS
// clang-format on

}  // namespace crm::sales::sql
