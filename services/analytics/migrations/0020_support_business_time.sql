-- Support KPIs in business hours: the SLA clocks support's events state (CaseMessageAdded, CaseStatusChanged,
-- SlaBreached carry sla_clocks), per clock the target and the business seconds elapsed (the tenant's calendar, pauses
-- excluded), whether the clock stopped (first reply, solve) and whether it passed its target. All NULL: the event
-- states no such clock (another event type, a case without an SLA target for it, or an event from before the field).
ALTER TABLE analytics_support_case_versions
    ADD COLUMN fr_sla_target    bigint,
    ADD COLUMN fr_sla_elapsed   bigint,
    ADD COLUMN fr_sla_stopped   boolean,
    ADD COLUMN fr_sla_breached  boolean,
    ADD COLUMN res_sla_target   bigint,
    ADD COLUMN res_sla_elapsed  bigint,
    ADD COLUMN res_sla_stopped  boolean,
    ADD COLUMN res_sla_breached boolean;
