-- Retention of completed activities (src/retention/, the kit's retention.hpp): an activity anonymised by a policy keeps
-- its row (type, links, owner, times) with its free text blanked and the time it happened.
ALTER TABLE activities ADD COLUMN anonymise_time timestamptz;
-- The rule's reads and batches: a tenant's completed activities by completion time, oldest first.
CREATE INDEX activities_retention ON activities (tenant_id, complete_time) WHERE status = 'COMPLETED';
