-- Leads service schema: leads, engagements, per-tenant configuration (scoring rules, predictive model, assignment,
-- web forms), round-robin cursors, used web-form tokens and idempotency keys.
--
-- Every table is tenant-scoped: tenant_id leads every primary key and index, and a FORCEd row-level security policy
-- limits each statement to the tenant the common runtime sets per transaction. The SLA scheduler is the one
-- cross-tenant reader: it sets crm.maintenance = 'on' in its own short transaction to find due deadlines (SELECT
-- only), then handles each lead in a transaction of that lead's tenant. Grants come from the migration runner.

CREATE TABLE leads (
    tenant_id            text        NOT NULL,
    id                   uuid        NOT NULL,
    given_name           text        NOT NULL DEFAULT '',
    family_name          text        NOT NULL DEFAULT '',
    email                text        NOT NULL DEFAULT '',  -- trimmed, lowercased addr-spec, or ''
    phone                text        NOT NULL DEFAULT '',
    company_name         text        NOT NULL DEFAULT '',
    job_title            text        NOT NULL DEFAULT '',
    country              text        NOT NULL DEFAULT '',  -- ISO 3166-1 alpha-2, uppercase, or ''
    region               text        NOT NULL DEFAULT '',
    source               text        NOT NULL DEFAULT '',  -- lowercased
    campaign_id          text        NOT NULL DEFAULT '',
    owner_id             text        NOT NULL DEFAULT '',
    team_id              text        NOT NULL DEFAULT '',
    priority             text        NOT NULL DEFAULT 'MEDIUM' CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    status               text        NOT NULL DEFAULT 'NEW'
                                     CHECK (status IN ('NEW', 'WORKING', 'NURTURING', 'QUALIFIED', 'UNQUALIFIED',
                                                       'CONVERTED')),
    status_reason        text        NOT NULL DEFAULT '',
    notes                text        NOT NULL DEFAULT '',
    attributes           jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    score                integer     NOT NULL DEFAULT 0,
    score_reasons        jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(score_reasons) = 'array'),
    capture_channel      text        NOT NULL DEFAULT 'API' CHECK (capture_channel IN ('API', 'IMPORT', 'WEB_FORM')),
    web_form_id          text        NOT NULL DEFAULT '',
    consent_granted      boolean     NOT NULL DEFAULT false,
    consent_text         text        NOT NULL DEFAULT '',
    consent_version      text        NOT NULL DEFAULT '',
    consent_time         timestamptz,
    first_touch_deadline timestamptz,
    first_touch_time     timestamptz,
    sla_breach_time      timestamptz,
    contact_id           uuid,
    company_id           uuid,
    opportunity_id       text        NOT NULL DEFAULT '',
    contact_existed      boolean     NOT NULL DEFAULT false,
    company_existed      boolean     NOT NULL DEFAULT false,
    convert_time         timestamptz,
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time          timestamptz NOT NULL DEFAULT now(),
    update_time          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((status = 'CONVERTED') = (convert_time IS NOT NULL))
);
-- Keyset paging (ORDER BY create_time, id) with and without the equality filters.
CREATE INDEX leads_tenant_create ON leads (tenant_id, create_time, id);
CREATE INDEX leads_tenant_status ON leads (tenant_id, status, create_time, id);
CREATE INDEX leads_tenant_owner ON leads (tenant_id, owner_id, create_time, id);
CREATE INDEX leads_tenant_source ON leads (tenant_id, source, create_time, id);
CREATE INDEX leads_tenant_campaign ON leads (tenant_id, campaign_id, create_time, id);
-- Dedup of open leads by email (creates, imports, web forms) and the capacity count of open leads per owner.
CREATE INDEX leads_open_email ON leads (tenant_id, email)
    WHERE email <> '' AND status NOT IN ('CONVERTED', 'UNQUALIFIED');
CREATE INDEX leads_open_owner ON leads (tenant_id, owner_id) WHERE status NOT IN ('CONVERTED', 'UNQUALIFIED');
-- Due first-touch deadlines (the SLA scheduler).
CREATE INDEX leads_sla_due ON leads (first_touch_deadline)
    WHERE first_touch_time IS NULL AND sla_breach_time IS NULL AND first_touch_deadline IS NOT NULL;

CREATE TABLE lead_engagements (
    tenant_id  text        NOT NULL,
    id         uuid        NOT NULL,
    lead_id    uuid        NOT NULL,
    type       text        NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]{0,62}$'),
    direction  text        NOT NULL CHECK (direction IN ('INBOUND', 'OUTBOUND')),
    occur_time timestamptz NOT NULL,
    detail     text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id)
);
CREATE INDEX lead_engagements_lead ON lead_engagements (tenant_id, lead_id, occur_time);

-- Per-tenant configuration documents (validated by the service): scoring rules, assignment config, the model.
CREATE TABLE tenant_settings (
    tenant_id   text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('scoring_rules', 'assignment', 'scoring_model')),
    body        jsonb       NOT NULL,
    version     bigint      NOT NULL DEFAULT 1,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind)
);

-- Round-robin position per team: the next pick locks this row (SELECT ... FOR UPDATE), so concurrent creates are
-- serialized per team and each member is picked in turn.
CREATE TABLE round_robin_cursors (
    tenant_id text   NOT NULL,
    team_id   text   NOT NULL,
    position  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, team_id)
);

CREATE TABLE web_forms (
    tenant_id   text        NOT NULL,
    id          text        NOT NULL CHECK (id ~ '^[a-z][a-z0-9_-]{0,62}$'),
    body        jsonb       NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- Form tokens already used (a token is valid once). Rows older than the longest token lifetime can be dropped.
CREATE TABLE web_form_tokens_used (
    tenant_id text        NOT NULL,
    nonce     text        NOT NULL,
    use_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, nonce)
);

-- Idempotency claims (idempotency_keys) and per-database settings come from the common migrations.

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['leads', 'lead_engagements', 'tenant_settings', 'round_robin_cursors', 'web_forms',
                             'web_form_tokens_used'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
-- The SLA scheduler's cross-tenant scan of due deadlines (read only).
CREATE POLICY maintenance_select ON leads FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
