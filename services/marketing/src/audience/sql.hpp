#pragma once
// Named SQL of the audience area: the read model of people (contacts and leads) built from events, their engagements
// and the erasure tombstones. Every statement filters by tenant_id = $1 in addition to row-level security.
#include "audience_columns.hpp"
#include "crm/common/db.hpp"
#include "sql_time.hpp"

namespace crm::marketing::audience::sql {

using common::Sql;

// clang-format off
// An erased person is not found (a campaign's lead erased keeps an anonymous row: kAnonymiseCampaignLead).
inline constexpr Sql kGetMember{"marketing_audience_get",
    "SELECT " CRM_AUDIENCE_COLUMNS " FROM audience a WHERE a.tenant_id = $1 AND a.id = $2::uuid "
    "AND NOT EXISTS (SELECT 1 FROM erased_people e WHERE e.tenant_id = a.tenant_id AND e.id = a.id)"};
// A person's campaign touches as attribution counts them (attribution/sql.hpp kTouches), oldest first.
inline constexpr Sql kPersonTouches{"marketing_audience_person_touches",
    "SELECT e.campaign_id::text, e.type, e.channel, " CRM_MICROS("e.occur_time") " "
    "FROM engagements e JOIN campaigns c ON c.tenant_id = e.tenant_id AND c.id = e.campaign_id "
    "WHERE e.tenant_id = $1 AND e.person_id = $2::uuid AND e.campaign_id IS NOT NULL "
    "AND e.type NOT IN ('unsubscribed', 'email_opened') ORDER BY e.occur_time, e.campaign_id LIMIT 1000"};
inline constexpr Sql kIsErased{"marketing_audience_is_erased",
    "SELECT 1 FROM erased_people WHERE tenant_id = $1 AND id = $2::uuid"};
// A snapshot applies only when it is newer than the one applied (events of one aggregate arrive in order, but a
// redelivery or a rebuild may bring an older one).
// The personal columns come sealed (audience/sealed.hpp), the e-mail's blind index beside them ($21).
inline constexpr Sql kUpsert{"marketing_audience_upsert",
    "INSERT INTO audience (tenant_id, id, kind, state, email, given_name, family_name, job_title, company_name, "
    "country, lead_source, lead_status, lead_score, consent, tags, custom, campaign_id, contact_id, source_version, "
    "create_time, email_index) VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15::text[], $16::jsonb, $17, $18::uuid, $19, " CRM_AT_MICROS("$20") ", $21) "
    "ON CONFLICT (tenant_id, id) DO UPDATE SET kind = EXCLUDED.kind, state = EXCLUDED.state, email = EXCLUDED.email, "
    "email_index = EXCLUDED.email_index, "
    "given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name, job_title = EXCLUDED.job_title, "
    "company_name = EXCLUDED.company_name, country = EXCLUDED.country, lead_source = EXCLUDED.lead_source, "
    "lead_status = EXCLUDED.lead_status, lead_score = EXCLUDED.lead_score, consent = EXCLUDED.consent, "
    "tags = EXCLUDED.tags, custom = EXCLUDED.custom, campaign_id = EXCLUDED.campaign_id, "
    "contact_id = EXCLUDED.contact_id, source_version = EXCLUDED.source_version, "
    "create_time = EXCLUDED.create_time, update_time = now() "
    "WHERE audience.source_version < EXCLUDED.source_version RETURNING id"};
// A merged-away contact: ContactsMerged names the losers only (no snapshot of theirs follows), so the loser is marked
// merged for good (no later snapshot can revive it, even one of its earlier versions that arrives after the merge on
// another partition), and created as such when its own events have not arrived yet.
inline constexpr Sql kMarkMerged{"marketing_audience_mark_merged",
    "INSERT INTO audience (tenant_id, id, kind, state, contact_id, source_version, create_time) "
    "VALUES ($1, $2::uuid, 'contact', 'merged', $3::uuid, 9223372036854775807, now()) "
    "ON CONFLICT (tenant_id, id) DO UPDATE SET state = 'merged', contact_id = EXCLUDED.contact_id, "
    "source_version = EXCLUDED.source_version, update_time = now()"};
inline constexpr Sql kMoveEngagements{"marketing_engagements_move",
    "UPDATE engagements SET person_id = $3::uuid WHERE tenant_id = $1 AND person_id = $2::uuid"};
// Erasure: the contact and the leads converted to it.
inline constexpr Sql kErasedIds{"marketing_audience_erased_ids",
    "SELECT id::text FROM audience WHERE tenant_id = $1 AND (id = $2::uuid OR contact_id = $2::uuid)"};
inline constexpr Sql kTombstone{"marketing_audience_tombstone",
    "INSERT INTO erased_people (tenant_id, id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING"};
// The person's address leaves the email records too (counts stay). A suppression of the address stays: it holds the
// address's blind index, never the address (migration 0021).
inline constexpr Sql kForgetRecipients{"marketing_audience_forget_recipients",
    "UPDATE email_recipients SET email = '', email_index = '' WHERE tenant_id = $1 AND person_id = $2::uuid "
    "AND (email <> '' OR email_index <> '')"};
// The row goes, except a campaign's lead: GetCampaignPerformance counts a campaign's leads (and converted leads) from
// these rows, so that row stays without anything personal (names, address, company, job, country, tags, custom
// fields blanked), out of the active audience ('deleted', or 'converted' as it was); erased_people hides it from reads.
inline constexpr Sql kDeletePerson{"marketing_audience_delete",
    "DELETE FROM audience WHERE tenant_id = $1 AND id = $2::uuid AND NOT (kind = 'lead' AND campaign_id <> '')"};
inline constexpr Sql kAnonymiseCampaignLead{"marketing_audience_anonymise_campaign_lead",
    "UPDATE audience SET state = CASE WHEN state = 'converted' THEN 'converted' ELSE 'deleted' END, email = '', email_index = '', "
    "given_name = '', family_name = '', job_title = '', company_name = '', country = '', tags = '{}', "
    "custom = '{}', update_time = now() WHERE tenant_id = $1 AND id = $2::uuid AND kind = 'lead' "
    "AND campaign_id <> '' AND (state NOT IN ('converted', 'deleted') OR email <> '' OR email_index <> '' "
    "OR given_name <> '' "
    "OR family_name <> '' OR job_title <> '' OR company_name <> '' OR country <> '' OR tags <> '{}' "
    "OR custom <> '{}'::jsonb)"};
// Touches stay as anonymous counts; engagements without a campaign go.
inline constexpr Sql kAnonymiseTouches{"marketing_engagements_anonymise",
    "UPDATE engagements SET person_id = NULL, visitor_id = '' WHERE tenant_id = $1 AND person_id = $2::uuid "
    "AND campaign_id IS NOT NULL"};
inline constexpr Sql kDeleteEngagements{"marketing_engagements_delete",
    "DELETE FROM engagements WHERE tenant_id = $1 AND person_id = $2::uuid"};
inline constexpr Sql kInsertEngagement{"marketing_engagement_insert",
    "INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, channel, occur_time, source_event) "
    "VALUES ($1, gen_random_uuid(), $2::uuid, $3, $4::uuid, $5, " CRM_AT_MICROS("$6") ", $7::uuid) "
    "ON CONFLICT (tenant_id, source_event) DO NOTHING RETURNING id::text"};
inline constexpr Sql kPersonEngagements{"marketing_engagements_of_person",
    "SELECT type, coalesce(campaign_id::text, ''), " CRM_MICROS("occur_time") " FROM engagements "
    "WHERE tenant_id = $1 AND person_id = $2::uuid"};
inline constexpr Sql kCampaignExists{"marketing_audience_campaign_exists",
    "SELECT 1 FROM campaigns WHERE tenant_id = $1 AND id = $2::uuid"};
// clang-format on

}  // namespace crm::marketing::audience::sql
