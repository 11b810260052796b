-- Field-service read model (topic crm.fieldservice.v1), for GetFieldKpis (src/field_kpis/). Like the other read models:
-- facts keyed by the aggregate, its version and the event id (INSERT ... ON CONFLICT DO NOTHING: applying an event
-- twice changes nothing); arrival order does not matter (the KPIs take each aggregate's greatest version).

-- One row per completed work order (WorkOrderCompleted): when, by whom, first-time fix, travel and on-site time from
-- its status transitions, and whether the arrival kept the customer's window.
CREATE TABLE analytics_field_completions (
    tenant_id      text        NOT NULL,
    work_order_id  uuid        NOT NULL,
    version        bigint      NOT NULL CHECK (version >= 1),
    event_id       uuid        NOT NULL,
    completed_at   timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    technician_id  text        NOT NULL,
    first_time_fix boolean     NOT NULL,
    travel_micros  bigint      NOT NULL CHECK (travel_micros >= 0),
    on_site_micros bigint      NOT NULL CHECK (on_site_micros >= 0),
    arrived_at     timestamptz,
    has_windows    boolean     NOT NULL,
    window_kept    boolean     NOT NULL,
    PRIMARY KEY (tenant_id, work_order_id, version, event_id)
);
CREATE INDEX analytics_field_completions_completed ON analytics_field_completions (tenant_id, completed_at);

-- One row per technician event (TechnicianCreated/Updated): what utilisation needs (territory, time zone, active,
-- weekly working hours as [{"weekday","start_minute","end_minute"}], time off as [{"start","end"}] in microseconds).
CREATE TABLE analytics_field_technician_versions (
    tenant_id     text        NOT NULL,
    technician_id uuid        NOT NULL,
    version       bigint      NOT NULL CHECK (version >= 1),
    event_id      uuid        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    territory     text        NOT NULL,
    time_zone     text        NOT NULL,
    active        boolean     NOT NULL,
    working_hours jsonb       NOT NULL,
    time_off      jsonb       NOT NULL,
    PRIMARY KEY (tenant_id, technician_id, version, event_id)
);

ALTER TABLE analytics_field_completions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_field_completions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_field_completions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_field_technician_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_field_technician_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_field_technician_versions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
