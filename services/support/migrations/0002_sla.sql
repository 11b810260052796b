-- SLA policies and durable SLA timers.
--
-- sla_policies: one per tenant (calendar, targets, warning share, escalation rules), validated by the service.
-- sla_timers: one row per case and clock (FIRST_RESPONSE, RESOLUTION) that has a target. The service keeps due_time
-- and warn_time current on every write of the case (NULL while the clock is paused or stopped); the scheduler of every
-- replica finds passed instants across tenants (maintenance read), then handles each timer in a transaction of its
-- tenant that takes the row with FOR UPDATE SKIP LOCKED and only while it is still unwarned / unbreached, so a warning,
-- a breach and their escalations happen once whatever the number of replicas.
-- sla_pauses: the intervals during which a case's clocks did not run (end_time NULL while paused).

CREATE TABLE sla_policies (
    tenant_id   text        NOT NULL PRIMARY KEY,
    body        jsonb       NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    version     bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    update_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sla_timers (
    tenant_id      text        NOT NULL,
    case_id        uuid        NOT NULL,
    metric         text        NOT NULL CHECK (metric IN ('FIRST_RESPONSE', 'RESOLUTION')),
    target_seconds bigint      NOT NULL CHECK (target_seconds > 0),
    start_time     timestamptz NOT NULL,
    due_time       timestamptz,
    warn_time      timestamptz,
    stop_time      timestamptz,
    warned_time    timestamptz,
    breached_time  timestamptz,
    PRIMARY KEY (tenant_id, case_id, metric),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id)
);
-- What the scheduler looks for: warnings and breaches that are due.
CREATE INDEX sla_timers_warn_due ON sla_timers (warn_time) WHERE warned_time IS NULL AND stop_time IS NULL;
CREATE INDEX sla_timers_breach_due ON sla_timers (due_time) WHERE breached_time IS NULL AND stop_time IS NULL;

CREATE TABLE sla_pauses (
    tenant_id  text        NOT NULL,
    case_id    uuid        NOT NULL,
    start_time timestamptz NOT NULL,
    end_time   timestamptz,
    PRIMARY KEY (tenant_id, case_id, start_time),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    CHECK (end_time IS NULL OR end_time >= start_time)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sla_policies', 'sla_timers', 'sla_pauses'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
-- The SLA scheduler's cross-tenant scan of due timers (read only; each timer is then handled in its tenant).
CREATE POLICY maintenance_select ON sla_timers FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
