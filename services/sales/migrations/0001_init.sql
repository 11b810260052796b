-- Sales service schema: pipelines and stages, opportunities and their stage history, activities, products, price
-- book, quotes, settings, forecast snapshots, idempotency keys.
--
-- Every table is tenant-scoped: tenant_id leads every primary key and index, and a FORCEd row-level security policy
-- limits each statement to the tenant the common runtime sets per transaction (set_config('crm.tenant_id', ..., true)).
-- Two background jobs look across tenants, read-only and only at what they need: the reminder scheduler (due
-- activities) and the snapshot scheduler (the tenants that use sales). They set crm.scheduler = 'on' in their own
-- discovery transaction, which opens the scheduler_select policies below; every write they do runs in a normal
-- tenant transaction. Money is integer minor units + ISO currency; amounts are never negative.

CREATE TABLE sales_tenants (
    tenant_id   text        NOT NULL PRIMARY KEY,
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pipelines (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (name <> ''),
    is_default  boolean     NOT NULL DEFAULT false,
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- At most one default pipeline per tenant: concurrent first uses insert with ON CONFLICT DO NOTHING on this index.
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (tenant_id) WHERE is_default;
CREATE INDEX pipelines_tenant_create ON pipelines (tenant_id, create_time, id);

CREATE TABLE stages (
    tenant_id         text    NOT NULL,
    id                uuid    NOT NULL,
    pipeline_id       uuid    NOT NULL,
    position          integer NOT NULL CHECK (position >= 0),
    name              text    NOT NULL CHECK (name <> ''),
    probability       integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
    forecast_category text    NOT NULL
                              CHECK (forecast_category IN ('PIPELINE', 'BEST_CASE', 'COMMIT', 'CLOSED_WON', 'CLOSED_LOST')),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, pipeline_id, position),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id)
);

CREATE TABLE opportunities (
    tenant_id           text        NOT NULL,
    id                  uuid        NOT NULL,
    name                text        NOT NULL CHECK (name <> ''),
    pipeline_id         uuid        NOT NULL,
    stage_id            uuid        NOT NULL,
    probability         integer     NOT NULL CHECK (probability BETWEEN 0 AND 100),
    amount_minor        bigint      NOT NULL CHECK (amount_minor >= 0),
    currency            text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    expected_close_date date,
    owner_id            text        NOT NULL DEFAULT '',
    contact_id          uuid,
    company_id          uuid,
    source_campaign_id  uuid,
    lead_id             uuid,
    description         text        NOT NULL DEFAULT '',
    status              text        NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'WON', 'LOST')),
    lost_reason         text        NOT NULL DEFAULT '',
    accepted_quote_id   uuid,
    stage_enter_time    timestamptz NOT NULL DEFAULT now(),
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    close_time          timestamptz,
    delete_time         timestamptz,
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id),
    FOREIGN KEY (tenant_id, stage_id) REFERENCES stages (tenant_id, id),
    CHECK ((status = 'OPEN') = (close_time IS NULL))
);
-- Keyset paging of ListOpportunities: every filter combination keeps (create_time, id) or (expected_close_date, id)
-- order inside one index, so pages are read in index order without sorting.
CREATE INDEX opportunities_tenant_create ON opportunities (tenant_id, create_time, id);
CREATE INDEX opportunities_tenant_stage ON opportunities (tenant_id, pipeline_id, stage_id, create_time, id);
CREATE INDEX opportunities_tenant_owner ON opportunities (tenant_id, owner_id, create_time, id);
CREATE INDEX opportunities_tenant_close ON opportunities (tenant_id, expected_close_date, id)
    WHERE expected_close_date IS NOT NULL;
CREATE INDEX opportunities_tenant_owner_close ON opportunities (tenant_id, owner_id, expected_close_date, id)
    WHERE expected_close_date IS NOT NULL;
CREATE INDEX opportunities_tenant_pipeline_close ON opportunities (tenant_id, pipeline_id, expected_close_date, id)
    WHERE expected_close_date IS NOT NULL;
CREATE INDEX opportunities_tenant_contact ON opportunities (tenant_id, contact_id, create_time, id)
    WHERE contact_id IS NOT NULL;
CREATE INDEX opportunities_tenant_company ON opportunities (tenant_id, company_id, create_time, id)
    WHERE company_id IS NOT NULL;
-- Forecast: open deals by expected close date, closed deals by close time, per currency.
CREATE INDEX opportunities_forecast_open ON opportunities (tenant_id, currency, expected_close_date)
    WHERE status = 'OPEN' AND delete_time IS NULL;
CREATE INDEX opportunities_forecast_closed ON opportunities (tenant_id, currency, close_time)
    WHERE status <> 'OPEN' AND delete_time IS NULL;

-- Every visit of an opportunity to a stage (exit_time NULL for the current one).
CREATE TABLE stage_history (
    tenant_id         text        NOT NULL,
    opportunity_id    uuid        NOT NULL,
    seq               integer     NOT NULL CHECK (seq >= 1),
    stage_id          uuid        NOT NULL,
    stage_name        text        NOT NULL,
    forecast_category text        NOT NULL,
    probability       integer     NOT NULL,
    enter_time        timestamptz NOT NULL,
    exit_time         timestamptz,
    changed_by        text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, opportunity_id, seq),
    FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id)
);

CREATE TABLE activities (
    tenant_id          text        NOT NULL,
    id                 uuid        NOT NULL,
    type               text        NOT NULL CHECK (type IN ('CALL', 'EMAIL', 'MEETING', 'TASK')),
    subject            text        NOT NULL CHECK (subject <> ''),
    description        text        NOT NULL DEFAULT '',
    lead_id            uuid,
    contact_id         uuid,
    company_id         uuid,
    opportunity_id     uuid,
    due_time           timestamptz,
    remind_time        timestamptz,
    -- When ActivityDue is due: remind_time, else due_time; NULL once published or when there is neither.
    remind_at          timestamptz,
    owner_id           text        NOT NULL DEFAULT '',
    status             text        NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'COMPLETED')),
    complete_time      timestamptz,
    outcome            text        NOT NULL DEFAULT '',
    reminder_sent_time timestamptz,
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    version            bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id),
    CHECK (num_nonnulls(lead_id, contact_id, company_id, opportunity_id) >= 1)
);
-- Timelines: newest first per linked record.
CREATE INDEX activities_lead ON activities (tenant_id, lead_id, create_time DESC, id DESC) WHERE lead_id IS NOT NULL;
CREATE INDEX activities_contact ON activities (tenant_id, contact_id, create_time DESC, id DESC)
    WHERE contact_id IS NOT NULL;
CREATE INDEX activities_company ON activities (tenant_id, company_id, create_time DESC, id DESC)
    WHERE company_id IS NOT NULL;
CREATE INDEX activities_opportunity ON activities (tenant_id, opportunity_id, create_time DESC, id DESC)
    WHERE opportunity_id IS NOT NULL;
-- The reminder scheduler's queue: open activities whose reminder is still to be published.
CREATE INDEX activities_reminders ON activities (remind_at) WHERE remind_at IS NOT NULL AND status = 'OPEN';

CREATE TABLE products (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (name <> ''),
    sku         text        NOT NULL DEFAULT '',
    description text        NOT NULL DEFAULT '',
    active      boolean     NOT NULL DEFAULT true,
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX products_sku ON products (tenant_id, sku) WHERE sku <> '';
CREATE INDEX products_tenant_create ON products (tenant_id, create_time, id);

CREATE TABLE price_book_entries (
    tenant_id        text        NOT NULL,
    product_id       uuid        NOT NULL,
    currency         text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    unit_price_minor bigint      NOT NULL CHECK (unit_price_minor >= 0),
    update_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, product_id, currency),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);
CREATE INDEX price_book_entries_currency ON price_book_entries (tenant_id, currency, product_id);

CREATE TABLE quotes (
    tenant_id            text        NOT NULL,
    id                   uuid        NOT NULL,
    opportunity_id       uuid        NOT NULL,
    title                text        NOT NULL CHECK (title <> ''),
    currency             text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The line items as given plus their computed amounts (proto JSON of crm.sales.v1.QuoteLineItem).
    line_items           jsonb       NOT NULL CHECK (jsonb_typeof(line_items) = 'array'),
    subtotal_minor       bigint      NOT NULL CHECK (subtotal_minor >= 0),
    discount_minor       bigint      NOT NULL CHECK (discount_minor >= 0),
    net_minor            bigint      NOT NULL CHECK (net_minor >= 0),
    tax_minor            bigint      NOT NULL CHECK (tax_minor >= 0),
    total_minor          bigint      NOT NULL CHECK (total_minor >= 0),
    max_discount_percent text        NOT NULL DEFAULT '0',
    status               text        NOT NULL DEFAULT 'DRAFT'
                                     CHECK (status IN ('DRAFT', 'NEEDS_APPROVAL', 'APPROVED', 'SENT', 'ACCEPTED',
                                                       'REJECTED')),
    approved_by          text        NOT NULL DEFAULT '',
    rejection_reason     text        NOT NULL DEFAULT '',
    valid_until          date,
    create_time          timestamptz NOT NULL DEFAULT now(),
    update_time          timestamptz NOT NULL DEFAULT now(),
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id)
);
CREATE INDEX quotes_tenant_create ON quotes (tenant_id, create_time DESC, id DESC);
CREATE INDEX quotes_opportunity ON quotes (tenant_id, opportunity_id, create_time DESC, id DESC);

CREATE TABLE sales_settings (
    tenant_id                  text        NOT NULL PRIMARY KEY,
    discount_threshold_percent text        NOT NULL,
    version                    bigint      NOT NULL DEFAULT 1,
    update_time                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE forecast_snapshots (
    tenant_id    text        NOT NULL,
    id           uuid        NOT NULL,
    period_type  text        NOT NULL CHECK (period_type IN ('MONTH', 'QUARTER')),
    period_start date        NOT NULL,
    period_end   date        NOT NULL,
    currency     text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    take_time    timestamptz NOT NULL DEFAULT now(),
    trigger      text        NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
    -- crm.sales.v1.ForecastSnapshot as proto JSON (totals and lines per owner).
    body         jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX forecast_snapshots_period ON forecast_snapshots
    (tenant_id, period_type, period_start, currency, take_time DESC, id DESC);

-- Idempotency claims (idempotency_keys) and per-database settings come from the common migrations.

-- Row-level security on every table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sales_tenants', 'pipelines', 'stages', 'opportunities', 'stage_history', 'activities',
                             'products', 'price_book_entries', 'quotes', 'sales_settings', 'forecast_snapshots'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;

-- Read-only discovery across tenants for the schedulers (see the top of this file).
CREATE POLICY scheduler_select ON sales_tenants FOR SELECT
    USING (current_setting('crm.scheduler', true) = 'on');
CREATE POLICY scheduler_select ON activities FOR SELECT
    USING (current_setting('crm.scheduler', true) = 'on');
