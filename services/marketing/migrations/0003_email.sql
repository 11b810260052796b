-- Marketing service schema, part 3: email. Sender settings per tenant, templates, sends, one row per send and
-- recipient (the idempotency of a message: at most one per send and person, across retries, crashes and replicas),
-- and the suppressed addresses (unsubscribed, hard-bounced).
--
-- The sender is the one cross-tenant reader: it sets crm.maintenance = 'on' in its own short transaction to find due
-- sends and recipients (SELECT only), then claims and handles them in transactions of their tenant.

CREATE TABLE email_settings (
    tenant_id       text    NOT NULL PRIMARY KEY,
    from_email      text    NOT NULL DEFAULT '',
    from_name       text    NOT NULL DEFAULT '',
    reply_to        text    NOT NULL DEFAULT '',
    rate_per_minute integer NOT NULL DEFAULT 0 CHECK (rate_per_minute BETWEEN 0 AND 100000),
    version         bigint  NOT NULL DEFAULT 1
);

CREATE TABLE email_templates (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    subject     text        NOT NULL,
    html_body   text        NOT NULL DEFAULT '',
    text_body   text        NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE email_sends (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    campaign_id   uuid        NOT NULL,
    template_id   uuid        NOT NULL,
    segment_id    uuid        NOT NULL,
    status        text        NOT NULL DEFAULT 'SCHEDULED' CHECK (status IN ('SCHEDULED', 'SENDING', 'COMPLETED')),
    schedule_time timestamptz NOT NULL,
    links         jsonb       NOT NULL DEFAULT '{}',  -- destination URL -> tracked link id, fixed when sending starts
    recipients    bigint      NOT NULL DEFAULT 0,
    skipped       bigint      NOT NULL DEFAULT 0,
    event_seq     bigint      NOT NULL DEFAULT 0,     -- aggregate version of the send's events
    create_time   timestamptz NOT NULL DEFAULT now(),
    complete_time timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id),
    FOREIGN KEY (tenant_id, template_id) REFERENCES email_templates (tenant_id, id),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id)
);
CREATE INDEX email_sends_due ON email_sends (schedule_time) WHERE status = 'SCHEDULED';
CREATE INDEX email_sends_sending ON email_sends (tenant_id, id) WHERE status = 'SENDING';
CREATE INDEX email_sends_campaign ON email_sends (tenant_id, campaign_id);

-- status: pending (to send at next_attempt_time), sending (claimed; the relay may have it), sent, bounced, failed,
-- unconfirmed (claimed by a process that stopped before recording the relay's answer: never sent again).
CREATE TABLE email_recipients (
    tenant_id         text        NOT NULL,
    send_id           uuid        NOT NULL,
    person_id         uuid        NOT NULL,
    email             text        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending'
                                  CHECK (status IN ('pending', 'sending', 'sent', 'bounced', 'failed', 'unconfirmed')),
    attempts          integer     NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    claim_time        timestamptz,
    smtp_code         integer     NOT NULL DEFAULT 0,
    sent_time         timestamptz,
    PRIMARY KEY (tenant_id, send_id, person_id),
    FOREIGN KEY (tenant_id, send_id) REFERENCES email_sends (tenant_id, id)
);
CREATE INDEX email_recipients_due ON email_recipients (tenant_id, send_id, next_attempt_time) WHERE status = 'pending';
CREATE INDEX email_recipients_claimed ON email_recipients (claim_time) WHERE status = 'sending';
CREATE INDEX email_recipients_person ON email_recipients (tenant_id, person_id);

CREATE TABLE suppressions (
    tenant_id   text        NOT NULL,
    email       text        NOT NULL,
    reason      text        NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce')),
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['email_settings', 'email_templates', 'email_sends', 'email_recipients', 'suppressions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
-- The sender's cross-tenant discovery (read only).
CREATE POLICY maintenance_select ON email_sends FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON email_recipients FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
