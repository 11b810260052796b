#pragma once
// Named SQL of the campaigns area (campaigns, cost lines, tracked links). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to row-level security.
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::marketing::campaigns::sql {

using common::Sql;

// clang-format off
// Column list read by ReadCampaign, in this order.
#define CRM_CAMPAIGN_COLUMNS                                                                                        \
    "c.id::text, c.name, c.description, c.type, c.status, coalesce(c.start_date::text, ''), "                      \
    "coalesce(c.end_date::text, ''), c.owner_id, c.budget_minor, c.currency_code, c.actual_cost_minor, "           \
    "coalesce(c.parent_campaign_id::text, ''), c.goal, c.utm_campaign, " CRM_MICROS("c.create_time") ", "         \
    CRM_MICROS("c.update_time") ", c.version"
inline constexpr Sql kGetCampaign{"marketing_campaign_get",
    "SELECT " CRM_CAMPAIGN_COLUMNS " FROM campaigns c WHERE c.tenant_id = $1 AND c.id = $2::uuid"};
inline constexpr Sql kGetCampaignForUpdate{"marketing_campaign_get_for_update",
    "SELECT " CRM_CAMPAIGN_COLUMNS " FROM campaigns c WHERE c.tenant_id = $1 AND c.id = $2::uuid FOR UPDATE"};
inline constexpr Sql kParentOf{"marketing_campaign_parent_of",
    "SELECT coalesce(parent_campaign_id::text, '') FROM campaigns WHERE tenant_id = $1 AND id = $2::uuid"};
inline constexpr Sql kInsertCampaign{"marketing_campaign_insert",
    "INSERT INTO campaigns (tenant_id, id, name, description, type, status, start_date, end_date, owner_id, "
    "budget_minor, currency_code, parent_campaign_id, goal, utm_campaign) VALUES ($1, $2::uuid, $3, $4, $5, $6, "
    "$7::date, $8::date, $9, $10::bigint, $11, $12::uuid, $13, $14)"};
// $15 = the version read (optimistic write).
inline constexpr Sql kWriteCampaign{"marketing_campaign_write",
    "UPDATE campaigns SET name = $3, description = $4, type = $5, status = $6, start_date = $7::date, "
    "end_date = $8::date, owner_id = $9, budget_minor = $10::bigint, currency_code = $11, "
    "parent_campaign_id = $12::uuid, goal = $13, version = version + 1, update_time = now() "
    "WHERE tenant_id = $1 AND id = $2::uuid AND version = $14 RETURNING id"};
inline constexpr Sql kAddActualCost{"marketing_campaign_add_cost",
    "UPDATE campaigns SET actual_cost_minor = actual_cost_minor + $3, currency_code = $4, version = version + 1, "
    "update_time = now() WHERE tenant_id = $1 AND id = $2::uuid"};
// Keyset pages, newest first; $2..$4 are the filters ('' = any), ($5, $6) the position, $7 the limit.
inline constexpr Sql kListCampaigns{"marketing_campaign_list",
    "SELECT " CRM_CAMPAIGN_COLUMNS " FROM campaigns c WHERE c.tenant_id = $1 "
    "AND ($2 = '' OR c.status = $2) AND ($3 = '' OR c.type = $3) "
    "AND ($4 = '' OR c.parent_campaign_id = nullif($4, '')::uuid) "
    "AND (c.create_time, c.id) < (" CRM_AT_MICROS("$5") ", $6::uuid) "
    "ORDER BY c.create_time DESC, c.id DESC LIMIT $7"};

#define CRM_COST_COLUMNS \
    "k.id::text, k.campaign_id::text, k.description, k.amount_minor, k.currency_code, k.incur_date::text, " \
    CRM_MICROS("k.create_time")
inline constexpr Sql kInsertCost{"marketing_cost_insert",
    "INSERT INTO campaign_costs (tenant_id, id, campaign_id, description, amount_minor, currency_code, incur_date) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7::date)"};
inline constexpr Sql kGetCost{"marketing_cost_get",
    "SELECT " CRM_COST_COLUMNS " FROM campaign_costs k WHERE k.tenant_id = $1 AND k.id = $2::uuid"};
inline constexpr Sql kListCosts{"marketing_cost_list",
    "SELECT " CRM_COST_COLUMNS " FROM campaign_costs k WHERE k.tenant_id = $1 AND k.campaign_id = $2::uuid "
    "AND (k.create_time, k.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY k.create_time DESC, k.id DESC LIMIT $5"};

#define CRM_LINK_COLUMNS \
    "l.id::text, l.campaign_id::text, l.destination_url, l.channel, l.source, l.content, l.term, l.target_url, " \
    CRM_MICROS("l.create_time")
inline constexpr Sql kInsertLink{"marketing_link_insert",
    "INSERT INTO tracked_links (tenant_id, id, campaign_id, destination_url, channel, source, content, term, "
    "target_url) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8, $9)"};
inline constexpr Sql kGetLink{"marketing_link_get",
    "SELECT " CRM_LINK_COLUMNS " FROM tracked_links l WHERE l.tenant_id = $1 AND l.id = $2::uuid"};
inline constexpr Sql kListLinks{"marketing_link_list",
    "SELECT " CRM_LINK_COLUMNS " FROM tracked_links l WHERE l.tenant_id = $1 AND l.campaign_id = $2::uuid "
    "AND (l.create_time, l.id) < (" CRM_AT_MICROS("$3") ", $4::uuid) ORDER BY l.create_time DESC, l.id DESC LIMIT $5"};
// clang-format on

}  // namespace crm::marketing::campaigns::sql
