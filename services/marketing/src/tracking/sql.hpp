#pragma once
// Named SQL of the tracking area (the public side of links and messages).
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::marketing::tracking::sql {

using common::Sql;

// clang-format off
inline constexpr Sql kLink{"marketing_tracking_link",
    "SELECT l.campaign_id::text, l.target_url, l.channel FROM tracked_links l WHERE l.tenant_id = $1 "
    "AND l.id = $2::uuid"};
inline constexpr Sql kInsertTouch{"marketing_tracking_touch",
    "INSERT INTO engagements (tenant_id, id, person_id, visitor_id, type, campaign_id, channel, occur_time) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6::uuid, $7, " CRM_AT_MICROS("$8") ")"};
inline constexpr Sql kPersonExists{"marketing_tracking_person",
    "SELECT 1 FROM audience WHERE tenant_id = $1 AND id = $2::uuid"};
// The address's blind index (an unsubscription suppresses the address the message went to, never kept in clear).
inline constexpr Sql kRecipient{"marketing_tracking_recipient",
    "SELECT r.email_index, s.campaign_id::text FROM email_recipients r JOIN email_sends s ON s.tenant_id = r.tenant_id "
    "AND s.id = r.send_id WHERE r.tenant_id = $1 AND r.send_id = $2::uuid AND r.person_id = $3::uuid"};
inline constexpr Sql kSuppress{"marketing_tracking_suppress",
    "INSERT INTO suppressions (tenant_id, address_key, reason) VALUES ($1, $2, 'unsubscribed') "
    "ON CONFLICT (tenant_id, address_key) DO UPDATE SET reason = 'unsubscribed' "
    "WHERE suppressions.reason <> 'unsubscribed' RETURNING 1"};
// The first open of a message that was handed to the relay: its campaign when this load is the first.
inline constexpr Sql kFirstOpen{"marketing_tracking_first_open",
    "UPDATE email_recipients r SET open_time = " CRM_AT_MICROS("$4") " FROM email_sends s WHERE r.tenant_id = $1 "
    "AND r.send_id = $2::uuid AND r.person_id = $3::uuid AND r.open_time IS NULL "
    "AND r.status IN ('sent', 'unconfirmed') AND s.tenant_id = r.tenant_id AND s.id = r.send_id "
    "RETURNING s.campaign_id::text"};
// The first click of a message (branches on "clicked", split reports).
inline constexpr Sql kMarkClicked{"marketing_tracking_mark_clicked",
    "UPDATE email_recipients SET click_time = " CRM_AT_MICROS("$4") " WHERE tenant_id = $1 AND send_id = $2::uuid "
    "AND person_id = $3::uuid AND click_time IS NULL"};
// clang-format on

}  // namespace crm::marketing::tracking::sql
