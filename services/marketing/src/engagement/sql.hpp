#pragma once
// Named SQL of the engagement area: one person's history (e-mail outcomes and engagements), newest first. Every
// statement filters by tenant_id = $1 in addition to row-level security.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::marketing::engagement::sql {

using common::Sql;

// clang-format off
// Whether the tenant has the person (an erased person has no row).
inline constexpr Sql kPersonExists{"marketing_engagement_person",
    "SELECT 1 FROM audience a WHERE a.tenant_id = $1 AND a.id = $2::uuid"};

// A page of the person's history after the key ($3 micros, $4 id), at most $5 rows: the two sources are each read
// newest first through their own index (engagements_person_time; email_recipients_person_outcome, whose key is the
// outcome's time: sent_time, else the claim of the attempt that bounced or failed) and LIMITed before the merge, so
// the cost is the page size whatever the person's history; the campaigns' names by primary key for the page only.
#define CRM_OUTCOME_TIME "coalesce(r.sent_time, r.claim_time)"
inline constexpr Sql kListPage{"marketing_engagement_list",
    "SELECT p.id::text, p.type, coalesce(p.campaign_id::text, ''), coalesce(c.name, ''), p.channel, "
    "coalesce(p.send_id::text, ''), " CRM_MICROS("p.t") " FROM ("
    "(SELECT e.occur_time AS t, e.id, e.type, e.campaign_id, e.channel, NULL::uuid AS send_id FROM engagements e "
    "WHERE e.tenant_id = $1 AND e.person_id = $2::uuid AND (e.occur_time, e.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) "
    "ORDER BY e.occur_time DESC, e.id DESC LIMIT $5) "
    "UNION ALL "
    "(SELECT " CRM_OUTCOME_TIME " AS t, r.send_id AS id, 'email_' || r.status AS type, s.campaign_id, "
    "'email' AS channel, r.send_id FROM email_recipients r "
    "JOIN email_sends s ON s.tenant_id = r.tenant_id AND s.id = r.send_id "
    "WHERE r.tenant_id = $1 AND r.person_id = $2::uuid AND r.status IN ('sent', 'bounced', 'failed', 'unconfirmed') "
    "AND (" CRM_OUTCOME_TIME ", r.send_id) < (" CRM_AT_MICROS("$3") ", $4::uuid) "
    "ORDER BY " CRM_OUTCOME_TIME " DESC, r.send_id DESC LIMIT $5)"
    ") p LEFT JOIN campaigns c ON c.tenant_id = $1 AND c.id = p.campaign_id "
    "ORDER BY p.t DESC, p.id DESC LIMIT $5"};
#undef CRM_OUTCOME_TIME
// clang-format on

}  // namespace crm::marketing::engagement::sql
