-- Data-subject requests (src/subject_data/): a person's facts are found by their ids. Contact, lead, deal and
-- attribution facts by primary key; deals converted from their leads and touches of them as an audience member need
-- these two.
CREATE INDEX analytics_opportunity_versions_lead ON analytics_opportunity_versions (tenant_id, lead_id)
    WHERE lead_id IS NOT NULL;
CREATE INDEX analytics_campaign_touches_person ON analytics_campaign_touches (tenant_id, person_id)
    WHERE person_id IS NOT NULL;
