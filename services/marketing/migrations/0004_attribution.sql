-- Marketing service schema, part 4: closed-loop attribution. One row per won deal, model and campaign with the deal's
-- amount share in integer minor units of the deal's currency; a deal that is lost after being won, reopened or deleted
-- loses its rows (retraction).

CREATE TABLE attributions (
    tenant_id      text        NOT NULL,
    opportunity_id uuid        NOT NULL,
    model          text        NOT NULL CHECK (model IN ('first_touch', 'last_touch', 'linear', 'u_shaped', 'time_decay')),
    campaign_id    uuid        NOT NULL,
    currency_code  text        NOT NULL,
    amount_minor   bigint      NOT NULL CHECK (amount_minor > 0),
    close_time     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, opportunity_id, model, campaign_id)
);
CREATE INDEX attributions_campaign ON attributions (tenant_id, campaign_id, close_time);

ALTER TABLE attributions ENABLE ROW LEVEL SECURITY;
ALTER TABLE attributions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attributions USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
