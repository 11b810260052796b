-- Marketing service schema, part 6: the deals of the tenant as sales' events describe them (snapshots applied only
-- when not older than the one held), for the pipeline a campaign influenced: open deals whose people it touched.
CREATE TABLE opportunities (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    contact_id    uuid,
    lead_id       uuid,
    amount_minor  bigint      NOT NULL DEFAULT 0 CHECK (amount_minor >= 0),
    currency_code text        NOT NULL DEFAULT '',
    state         text        NOT NULL CHECK (state IN ('open', 'won', 'lost', 'deleted')),
    version       bigint      NOT NULL,
    update_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX opportunities_open_contact ON opportunities (tenant_id, contact_id) WHERE state = 'open';
CREATE INDEX opportunities_open_lead ON opportunities (tenant_id, lead_id) WHERE state = 'open';

ALTER TABLE opportunities ENABLE ROW LEVEL SECURITY;
ALTER TABLE opportunities FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON opportunities USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
