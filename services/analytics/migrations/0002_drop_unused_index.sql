-- KPIs load a tenant's facts by the primary key (tenant_id leads it); nothing reads records by creation time through
-- an index, so analytics_record_versions_created only cost writes.
DROP INDEX IF EXISTS analytics_record_versions_created;
