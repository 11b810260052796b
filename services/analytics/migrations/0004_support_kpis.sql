-- Support read model (topic crm.support.v1), for GetSupportKpis (src/support_kpis/). Like the other read models: facts
-- keyed by the aggregate, its version and the event id (INSERT ... ON CONFLICT DO NOTHING: applying an event twice
-- changes nothing), folded in version order when KPIs are computed, so arrival order does not matter.

-- One row per case event: the case snapshot the event carries (status, queue, assignee, times) and what the event
-- itself says (a reopen, the clock an SLA breach is about).
CREATE TABLE analytics_support_case_versions (
    tenant_id         text        NOT NULL,
    case_id           uuid        NOT NULL,
    version           bigint      NOT NULL CHECK (version >= 1),
    event_id          uuid        NOT NULL,
    occurred_at       timestamptz NOT NULL,
    event_type        text        NOT NULL,
    status            text        CHECK (status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD', 'SOLVED', 'CLOSED',
                                                    'MERGED')),
    queue_id          text        NOT NULL,
    assignee_id       text        NOT NULL,
    created_at        timestamptz,
    first_response_at timestamptz,
    solved_at         timestamptz,
    closed_at         timestamptz,
    reopened          boolean     NOT NULL,
    breached_clock    text        CHECK (breached_clock IN ('FIRST_RESPONSE', 'RESOLUTION')),
    PRIMARY KEY (tenant_id, case_id, version, event_id)
);

-- Per case, the span in which it can count for a KPI: from its creation to its last event when that left it not
-- open (solved, closed, merged: nothing it did before counts in a later period, and it is in no later backlog);
-- 'infinity' while its last event leaves it open. "Last" is the greatest (version, event id), so arrival order does
-- not matter. Maintained from the versions above by the same transaction; a KPI read takes only the cases whose span
-- meets the period, index-backed by (tenant_id, final_at) for recent periods (few cases finished after their start)
-- and by (tenant_id, created_at) for early ones (few cases created before their end), instead of every case the
-- tenant ever had.
CREATE TABLE analytics_support_cases (
    tenant_id     text        NOT NULL,
    case_id       uuid        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_version  bigint      NOT NULL,
    last_event_id uuid        NOT NULL,
    final_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, case_id)
);
CREATE INDEX analytics_support_cases_final ON analytics_support_cases (tenant_id, final_at);
CREATE INDEX analytics_support_cases_created ON analytics_support_cases (tenant_id, created_at);

-- CSAT answers (CsatRecorded), one per survey; comments are not kept (free text from a person).
CREATE TABLE analytics_support_csat (
    tenant_id   text        NOT NULL,
    survey_id   text        NOT NULL,
    case_id     uuid        NOT NULL,
    event_id    uuid        NOT NULL,
    answered_at timestamptz NOT NULL,
    score       integer     NOT NULL CHECK (score BETWEEN 1 AND 5),
    agent_id    text        NOT NULL,
    queue_id    text        NOT NULL,
    PRIMARY KEY (tenant_id, survey_id)
);
CREATE INDEX analytics_support_csat_answered ON analytics_support_csat (tenant_id, answered_at);

ALTER TABLE analytics_support_case_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_support_case_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_support_case_versions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_support_cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_support_cases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_support_cases
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE analytics_support_csat ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_support_csat FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_support_csat
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
