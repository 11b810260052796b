-- Marketing service schema, part 8: indexes that keep GetCampaignPerformance independent of the tenant's size
-- (tests/bench/marketing.sh: 1M touches vs 10k).
-- A campaign's leads (the "leads" and "converted leads" counts) without a scan of the tenant's audience.
CREATE INDEX audience_campaign_leads ON audience (tenant_id, campaign_id, create_time) WHERE kind = 'lead';
-- A campaign's touches carry their type and person in the index, so counting them and finding their people is an
-- index-only scan once the pages are all-visible: a campaign's touches are spread over the whole heap of a large
-- tenant, one page each, where a small tenant's sit together.
DROP INDEX engagements_campaign;
CREATE INDEX engagements_campaign ON engagements (tenant_id, campaign_id, occur_time) INCLUDE (type, person_id)
    WHERE campaign_id IS NOT NULL;
