-- Marketing service schema, part 1: campaigns, their cost lines and tracked links.
--
-- Every table is tenant-scoped: tenant_id leads every primary key and index, and a FORCEd row-level security policy
-- limits each statement to the tenant the common runtime sets per transaction. Idempotency claims and per-database
-- settings come from the common migrations; grants from the migration runner.

CREATE TABLE campaigns (
    tenant_id          text        NOT NULL,
    id                 uuid        NOT NULL,
    name               text        NOT NULL CHECK (name <> ''),
    description        text        NOT NULL DEFAULT '',
    type               text        NOT NULL CHECK (type IN ('EMAIL', 'WEBINAR', 'EVENT', 'PAID_ADS', 'CONTENT')),
    status             text        NOT NULL DEFAULT 'PLANNED'
                                   CHECK (status IN ('PLANNED', 'ACTIVE', 'COMPLETED', 'ABORTED')),
    start_date         date,
    end_date           date,
    owner_id           text        NOT NULL DEFAULT '',
    budget_minor       bigint      CHECK (budget_minor >= 0),
    currency_code      text        NOT NULL DEFAULT '',  -- the budget's, else the first cost line's, else ''
    actual_cost_minor  bigint      NOT NULL DEFAULT 0 CHECK (actual_cost_minor >= 0),
    parent_campaign_id uuid,
    goal               text        NOT NULL DEFAULT '',
    utm_campaign       text        NOT NULL,
    version            bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_campaign_id) REFERENCES campaigns (tenant_id, id),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    CHECK (budget_minor IS NULL OR currency_code <> '')
);
-- Keyset paging, newest first, with and without the equality filters.
CREATE INDEX campaigns_tenant_create ON campaigns (tenant_id, create_time DESC, id DESC);
CREATE INDEX campaigns_tenant_status ON campaigns (tenant_id, status, create_time DESC, id DESC);
CREATE INDEX campaigns_tenant_type ON campaigns (tenant_id, type, create_time DESC, id DESC);
CREATE INDEX campaigns_tenant_parent ON campaigns (tenant_id, parent_campaign_id, create_time DESC, id DESC)
    WHERE parent_campaign_id IS NOT NULL;

CREATE TABLE campaign_costs (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    campaign_id   uuid        NOT NULL,
    description   text        NOT NULL CHECK (description <> ''),
    amount_minor  bigint      NOT NULL CHECK (amount_minor > 0),
    currency_code text        NOT NULL,
    incur_date    date        NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id)
);
CREATE INDEX campaign_costs_campaign ON campaign_costs (tenant_id, campaign_id, create_time DESC, id DESC);

CREATE TABLE tracked_links (
    tenant_id       text        NOT NULL,
    id              uuid        NOT NULL,
    campaign_id     uuid        NOT NULL,
    destination_url text        NOT NULL,
    channel         text        NOT NULL,  -- utm_medium
    source          text        NOT NULL,  -- utm_source
    content         text        NOT NULL DEFAULT '',
    term            text        NOT NULL DEFAULT '',
    target_url      text        NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id)
);
CREATE INDEX tracked_links_campaign ON tracked_links (tenant_id, campaign_id, create_time DESC, id DESC);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['campaigns', 'campaign_costs', 'tracked_links'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
