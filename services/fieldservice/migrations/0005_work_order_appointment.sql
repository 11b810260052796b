-- A work order's live or done appointment (every read of a work order: CRM_WORK_ORDER_COLUMNS). The unique index
-- appointments_one_per_work_order covers BOOKED rows only, so for `status <> 'RELEASED'` the planner read every
-- appointment of the tenant (EXPLAIN as the app role: 3,550 pages and ~100 ms per read at 100,000 appointments, the
-- larger part of FindCandidates' time at 10,000 technicians). This index answers it with one probe.
CREATE INDEX appointments_work_order ON appointments (tenant_id, work_order_id, create_time DESC)
    WHERE status <> 'RELEASED';
