-- Campaign read model (topic crm.marketing.v1), for GetCampaignKpis (src/campaign_kpis/). Like the other read models:
-- facts keyed by what the event is about and the event (INSERT ... ON CONFLICT DO NOTHING: applying an event twice
-- changes nothing); arrival order does not matter.

-- One row per cost line (CampaignCostAdded): a campaign's cost in its currency on its incur date (UTC calendar date).
CREATE TABLE analytics_campaign_costs (
    tenant_id    text   NOT NULL,
    cost_id      uuid   NOT NULL,
    event_id     uuid   NOT NULL,
    campaign_id  uuid   NOT NULL,
    currency     text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor bigint NOT NULL,
    incur_date   date   NOT NULL,
    PRIMARY KEY (tenant_id, cost_id)
);
CREATE INDEX analytics_campaign_costs_incurred ON analytics_campaign_costs (tenant_id, incur_date)
    INCLUDE (campaign_id, currency, amount_minor);

-- One row per touch (TouchRecorded): tracked-link visits, email clicks, web-form submissions, opens; person_id NULL
-- for an anonymous visitor. The leads of a campaign are read index-only from the period's range.
CREATE TABLE analytics_campaign_touches (
    tenant_id   text        NOT NULL,
    touch_id    uuid        NOT NULL,
    campaign_id uuid        NOT NULL,
    person_id   uuid,
    type        text        NOT NULL,
    touch_time  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, touch_id)
);
CREATE INDEX analytics_campaign_touches_time ON analytics_campaign_touches (tenant_id, touch_time)
    INCLUDE (campaign_id, person_id, type);

-- One row per AttributionComputed: a won deal's split over campaigns per model (shares: [{"model","campaign_id",
-- "amount_minor"}]) or, retracted, its withdrawal. A deal's row with the greatest (version, occurred_at, event_id)
-- is in force.
CREATE TABLE analytics_campaign_attributions (
    tenant_id      text        NOT NULL,
    opportunity_id uuid        NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    retracted      boolean     NOT NULL,
    close_time     timestamptz,
    currency       text        NOT NULL,
    amount_minor   bigint      NOT NULL,
    shares         jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, opportunity_id, version, event_id),
    CHECK (retracted OR (close_time IS NOT NULL AND currency ~ '^[A-Z]{3}$'))
);
CREATE INDEX analytics_campaign_attributions_closed ON analytics_campaign_attributions (tenant_id, close_time)
    WHERE NOT retracted;

ALTER TABLE analytics_campaign_costs ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_campaign_costs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_campaign_costs
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_campaign_touches ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_campaign_touches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_campaign_touches
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_campaign_attributions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_campaign_attributions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_campaign_attributions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
