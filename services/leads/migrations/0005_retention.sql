-- Retention of unconverted leads (src/retention/, the kit's retention.hpp): a lead anonymised by a policy keeps its
-- row (id, status, source, campaign, times, score) with its personal fields blanked and the time it happened.
ALTER TABLE leads ADD COLUMN anonymise_time timestamptz;
-- The rule's reads and batches: a tenant's unconverted leads by last change, oldest first.
CREATE INDEX leads_retention ON leads (tenant_id, update_time) WHERE status <> 'CONVERTED';
