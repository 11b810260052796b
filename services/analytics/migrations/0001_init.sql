-- Analytics read models. The service owns no business data: every row is a fact taken from one event of another
-- service (contacts, leads, sales), keyed by the aggregate and its version, so that
--   * applying the same event twice changes nothing (INSERT ... ON CONFLICT DO NOTHING on the natural key, on top of
--     the consumer runtime's crm_processed_events),
--   * the order in which events of different aggregates arrive does not matter, and even an aggregate's versions
--     arriving out of order are folded in version order when KPIs are computed,
--   * the history is kept: an aggregate's state at any past time is its last version at or before that time
--     (valid_from = occurred_at of a version, valid_to = occurred_at of the next one), which is what "pipeline as
--     of T", time in stage and forecast vs actual are computed from.
-- Columns of a version that are NULL were not stated by its event (the previous version's value carries on). The
-- event id is part of the key: a producer may publish two events for one version (sales publishes
-- OpportunityStageChanged and OpportunityWon in one transaction), and both are kept.
-- Times are the producing service's times (occurred_at of the envelope, or the times of the snapshot).
--
-- Every table is tenant-scoped: tenant_id leads every primary key, and a FORCEd row-level security policy limits
-- each statement to the tenant the common runtime sets per transaction. Grants are given by the migration runner.

-- Contacts and companies (topic crm.contacts.v1): lifecycle facts, for new contacts and companies per day.
CREATE TABLE analytics_record_versions (
    tenant_id   text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('contact', 'company')),
    record_id   uuid        NOT NULL,
    version     bigint      NOT NULL CHECK (version >= 1),
    event_id    uuid        NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz,
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, kind, record_id, version, event_id)
);
CREATE INDEX analytics_record_versions_created ON analytics_record_versions (tenant_id, kind, created_at);

-- Leads (topic crm.leads.v1).
CREATE TABLE analytics_lead_versions (
    tenant_id         text        NOT NULL,
    lead_id           uuid        NOT NULL,
    version           bigint      NOT NULL CHECK (version >= 1),
    event_id          uuid        NOT NULL,
    occurred_at       timestamptz NOT NULL,
    source            text,
    campaign_id       text,
    owner_id          text,
    status            text        CHECK (status IN ('OPEN', 'CONVERTED', 'DISQUALIFIED')),
    created_at        timestamptz,
    first_response_at timestamptz,
    response_due_at   timestamptz,
    converted_at      timestamptz,
    PRIMARY KEY (tenant_id, lead_id, version, event_id)
);

-- Opportunities (topic crm.sales.v1). probability_bp: win probability in basis points (0..10000).
CREATE TABLE analytics_opportunity_versions (
    tenant_id         text        NOT NULL,
    opportunity_id    uuid        NOT NULL,
    version           bigint      NOT NULL CHECK (version >= 1),
    event_id          uuid        NOT NULL,
    occurred_at       timestamptz NOT NULL,
    pipeline_id       text,
    stage_id          text,
    stage_name        text,
    probability_bp    integer     CHECK (probability_bp BETWEEN 0 AND 10000),
    status            text        CHECK (status IN ('OPEN', 'WON', 'LOST')),
    amount_minor      bigint,
    currency_code     text        CHECK (currency_code ~ '^[A-Z]{3}$'),
    owner_id          text,
    expected_close_at timestamptz,
    created_at        timestamptz,
    closed_at         timestamptz,
    deleted_at        timestamptz,
    lead_id           text,
    source            text,
    campaign_id       text,
    PRIMARY KEY (tenant_id, opportunity_id, version, event_id)
);

ALTER TABLE analytics_record_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_record_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_record_versions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_lead_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_lead_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_lead_versions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_opportunity_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_opportunity_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_opportunity_versions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
