#pragma once
// The read statements of the campaign read model (migrations/0010_campaign_kpis.sql), in a header so that the
// integration tests can EXPLAIN them as the application role. Include from the campaign area and tests only (pqxx).
#include "crm/common/db.hpp"

namespace crm::analytics::campaign::sql {

using common::Sql;

// clang-format off
#define CRM_AT(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"

// Cost per (campaign, currency) of the lines incurred in the period: incur date in [UTC date of $2, UTC date of $3)
// (micros), as marketing's GetCampaignPerformance counts them; $4 a campaign id or '' for every campaign.
constexpr Sql kCostIn{"analytics_campaign_cost_in",
    "SELECT campaign_id::text, currency, sum(amount_minor)::bigint FROM analytics_campaign_costs "
    "WHERE tenant_id = $1 AND incur_date >= (" CRM_AT("$2") " AT TIME ZONE 'UTC')::date "
    "AND incur_date < (" CRM_AT("$3") " AT TIME ZONE 'UTC')::date "
    "AND ($4 = '' OR campaign_id::text = $4) GROUP BY campaign_id, currency"};

// Distinct known people per campaign touched in [$2, $3) by a visit, an email click or a web-form submission.
constexpr Sql kLeadsIn{"analytics_campaign_leads_in",
    "SELECT campaign_id::text, count(DISTINCT person_id) FROM analytics_campaign_touches "
    "WHERE tenant_id = $1 AND touch_time >= " CRM_AT("$2") " AND touch_time < " CRM_AT("$3") " "
    "AND person_id IS NOT NULL AND type IN ('link_clicked', 'email_clicked', 'form_submitted') "
    "AND ($4 = '' OR campaign_id::text = $4) GROUP BY campaign_id"};

// The splits in force of the deals closed in [$2, $3): a row that is not retracted and that no later row of the same
// deal (a retraction, a new win) replaces.
constexpr Sql kWonIn{"analytics_campaign_won_in",
    "SELECT a.opportunity_id::text, a.currency, a.shares::text FROM analytics_campaign_attributions a "
    "WHERE a.tenant_id = $1 AND NOT a.retracted AND a.close_time >= " CRM_AT("$2") " AND a.close_time < " CRM_AT("$3")
    // The split in force is the deal's latest row. A per-row probe of the deal's few rows by primary key, written as
    // a scalar subquery: as NOT EXISTS it became a hash anti-join that read every attribution of the tenant.
    " AND (a.version, a.occurred_at, a.event_id) = (SELECT b.version, b.occurred_at, b.event_id "
    "FROM analytics_campaign_attributions b WHERE b.tenant_id = $1 AND b.opportunity_id = a.opportunity_id "
    "ORDER BY b.version DESC, b.occurred_at DESC, b.event_id DESC LIMIT 1)"};

#undef CRM_AT
// clang-format on

}  // namespace crm::analytics::campaign::sql
