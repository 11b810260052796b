#pragma once
// Named SQL of the attribution area: touches of a deal's people, attribution rows, campaign performance.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::marketing::attribution::sql {

using common::Sql;

// clang-format off
// The people of a deal: its contact, its lead, and the leads converted to its contact.
inline constexpr Sql kDealPeople{"marketing_attribution_people",
    "SELECT id::text FROM audience WHERE tenant_id = $1 AND (id = ANY($2::uuid[]) OR contact_id = ANY($2::uuid[]))"};
// Their touches (engagements with a campaign of the tenant) within the lookback before the close.
inline constexpr Sql kTouches{"marketing_attribution_touches",
    "SELECT e.campaign_id::text, " CRM_MICROS("e.occur_time") " FROM engagements e JOIN campaigns c "
    "ON c.tenant_id = e.tenant_id AND c.id = e.campaign_id WHERE e.tenant_id = $1 AND e.person_id = ANY($2::uuid[]) "
    "AND e.campaign_id IS NOT NULL AND e.type <> 'unsubscribed' AND e.occur_time <= " CRM_AT_MICROS("$3")
    " AND e.occur_time >= " CRM_AT_MICROS("$3") " - $4::bigint * interval '1 day'"};
inline constexpr Sql kDeleteDeal{"marketing_attribution_delete",
    "DELETE FROM attributions WHERE tenant_id = $1 AND opportunity_id = $2::uuid RETURNING 1"};
inline constexpr Sql kInsert{"marketing_attribution_insert",
    "INSERT INTO attributions (tenant_id, opportunity_id, model, campaign_id, currency_code, amount_minor, close_time) "
    "VALUES ($1, $2::uuid, $3, $4::uuid, $5, $6, " CRM_AT_MICROS("$7") ")"};

// Performance of a campaign over [$3, $4) (microseconds).
inline constexpr Sql kEmailCounts{"marketing_performance_email",
    "SELECT count(*) FILTER (WHERE r.status IN ('sent', 'unconfirmed')), count(*) FILTER (WHERE r.status = 'bounced') "
    "FROM email_recipients r JOIN email_sends s ON s.tenant_id = r.tenant_id AND s.id = r.send_id "
    "WHERE s.tenant_id = $1 AND s.campaign_id = $2::uuid AND s.schedule_time >= " CRM_AT_MICROS("$3")
    " AND s.schedule_time < " CRM_AT_MICROS("$4")};
inline constexpr Sql kEngagementCounts{"marketing_performance_engagements",
    "SELECT type, count(*) FROM engagements WHERE tenant_id = $1 AND campaign_id = $2::uuid "
    "AND occur_time >= " CRM_AT_MICROS("$3") " AND occur_time < " CRM_AT_MICROS("$4") " GROUP BY type"};
inline constexpr Sql kLeadCounts{"marketing_performance_leads",
    "SELECT count(*), count(*) FILTER (WHERE state = 'converted') FROM audience WHERE tenant_id = $1 "
    "AND kind = 'lead' AND campaign_id = $2 AND create_time >= " CRM_AT_MICROS("$3") " AND create_time < "
    CRM_AT_MICROS("$4")};
inline constexpr Sql kRevenue{"marketing_performance_revenue",
    "SELECT model, currency_code, sum(amount_minor)::bigint, count(*) FROM attributions WHERE tenant_id = $1 "
    "AND campaign_id = $2::uuid AND close_time >= " CRM_AT_MICROS("$3") " AND close_time < " CRM_AT_MICROS("$4")
    " GROUP BY model, currency_code ORDER BY model, currency_code"};
inline constexpr Sql kCost{"marketing_performance_cost",
    "SELECT currency_code, sum(amount_minor)::bigint FROM campaign_costs WHERE tenant_id = $1 "
    "AND campaign_id = $2::uuid AND incur_date >= (" CRM_AT_MICROS("$3") " AT TIME ZONE 'UTC')::date "
    "AND incur_date < (" CRM_AT_MICROS("$4") " AT TIME ZONE 'UTC')::date GROUP BY currency_code"};
// clang-format on

}  // namespace crm::marketing::attribution::sql
