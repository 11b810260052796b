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
// Their touches (engagements with a campaign of the tenant) within the lookback before the close. Unsubscribes are no
// touch, nor are opens (a pixel loaded by a mail client's prefetching proves no interest).
inline constexpr Sql kTouches{"marketing_attribution_touches",
    "SELECT e.campaign_id::text, " CRM_MICROS("e.occur_time") " FROM engagements e JOIN campaigns c "
    "ON c.tenant_id = e.tenant_id AND c.id = e.campaign_id WHERE e.tenant_id = $1 AND e.person_id = ANY($2::uuid[]) "
    "AND e.campaign_id IS NOT NULL AND e.type NOT IN ('unsubscribed', 'email_opened') AND e.occur_time <= " CRM_AT_MICROS("$3")
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
// A deal's snapshot (sales' events), unless the one held is newer or the deal was deleted.
inline constexpr Sql kUpsertOpportunity{"marketing_pipeline_upsert",
    "INSERT INTO opportunities (tenant_id, id, contact_id, lead_id, amount_minor, currency_code, state, version) "
    "VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5, $6, $7, $8) ON CONFLICT (tenant_id, id) DO UPDATE SET "
    "contact_id = EXCLUDED.contact_id, lead_id = EXCLUDED.lead_id, amount_minor = EXCLUDED.amount_minor, "
    "currency_code = EXCLUDED.currency_code, state = EXCLUDED.state, version = EXCLUDED.version, update_time = now() "
    "WHERE opportunities.version <= EXCLUDED.version AND opportunities.state <> 'deleted'"};
// Influenced pipeline: open deals whose contact, lead, or a lead converted to their contact has a touch of the
// campaign in [$3 - $4 days, $3]; each deal counted whole, per currency. From the campaign's touches (its index) to
// their people (primary key probes) to the deals (a probe of one index per link), never a scan of the tenant's people
// or deals: the ids travel as arrays, so each step is an index lookup of a list of keys.
inline constexpr Sql kInfluenced{"marketing_performance_influenced",
    "WITH touched AS (SELECT coalesce(array_agg(DISTINCT e.person_id), '{}') AS ids FROM engagements e "
    "WHERE e.tenant_id = $1 AND e.campaign_id = $2::uuid AND e.person_id IS NOT NULL "
    "AND e.type NOT IN ('unsubscribed', 'email_opened') AND e.occur_time <= " CRM_AT_MICROS("$3")
    " AND e.occur_time >= " CRM_AT_MICROS("$3") " - $4::bigint * interval '1 day'), "
    "keys AS (SELECT coalesce(array_agg(a.id) || array_agg(a.contact_id) FILTER (WHERE a.contact_id IS NOT NULL), "
    "'{}') AS ks FROM audience a WHERE a.tenant_id = $1 AND a.id = ANY ((SELECT ids FROM touched)::uuid[])) "
    "SELECT d.currency_code, sum(d.amount_minor)::bigint, count(*) FROM ("
    "SELECT o.id, o.currency_code, o.amount_minor FROM opportunities o WHERE o.tenant_id = $1 AND o.state = 'open' "
    "AND o.contact_id = ANY ((SELECT ks FROM keys)::uuid[]) UNION "
    "SELECT o.id, o.currency_code, o.amount_minor FROM opportunities o WHERE o.tenant_id = $1 AND o.state = 'open' "
    "AND o.lead_id = ANY ((SELECT ks FROM keys)::uuid[])) d WHERE d.currency_code <> '' "
    "GROUP BY d.currency_code ORDER BY 1"};
// clang-format on

}  // namespace crm::marketing::attribution::sql
