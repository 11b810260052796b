-- Incremental KPI reads. The service keeps each tenant's folded facts in memory (src/cache/dataset_cache.hpp) and
-- brings them up to date from the fact rows committed since it last read, instead of reading every row per request.
--
-- 1. Which rows are new. Every fact row records the transaction that wrote it (xact_id: pg_current_xact_id(), the
--    64-bit transaction id, as bigint so that its comparisons are leakproof and usable by an index under row-level
--    security). A reader that last read at PostgreSQL snapshot S asks, at snapshot S', for the rows visible in S' and
--    not in S (pg_visible_in_snapshot): exactly the rows committed in between, whatever order their transactions
--    started or committed in (a plain sequence would not do: a row that took number 100 may commit after the row
--    that took 101 was read). Rows of transactions older than S's xmin were all visible in S, so the index range
--    (tenant_id, xact_id >= xmin of S) holds every candidate. Rows written before this migration keep xact_id 0
--    (older than any snapshot).
-- 2. When the cache is wrong. Facts are only ever inserted; anything that deletes or rewrites them (a rebuild's swap,
--    a manual repair) bumps the tenant's generation in the same transaction (statement triggers below, with the
--    deleted or updated rows' tenants), and a reader that finds another generation than the one it folded reloads
--    the tenant. TRUNCATE gives the table a new file node, which readers compare as well.
ALTER TABLE analytics_record_versions ADD COLUMN xact_id bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics_record_versions ALTER COLUMN xact_id SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX analytics_record_versions_xact ON analytics_record_versions (tenant_id, xact_id);

ALTER TABLE analytics_lead_versions ADD COLUMN xact_id bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics_lead_versions ALTER COLUMN xact_id SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX analytics_lead_versions_xact ON analytics_lead_versions (tenant_id, xact_id);

ALTER TABLE analytics_opportunity_versions ADD COLUMN xact_id bigint NOT NULL DEFAULT 0;
ALTER TABLE analytics_opportunity_versions ALTER COLUMN xact_id SET DEFAULT pg_current_xact_id()::text::bigint;
CREATE INDEX analytics_opportunity_versions_xact ON analytics_opportunity_versions (tenant_id, xact_id);

-- One row per tenant whose facts were ever deleted or rewritten; no row = generation 0.
CREATE TABLE analytics_tenant_generations (
    tenant_id  text   PRIMARY KEY,
    generation bigint NOT NULL CHECK (generation >= 1)
);
ALTER TABLE analytics_tenant_generations ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_tenant_generations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_tenant_generations
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

-- Runs as the role that deleted or updated the facts, under its row-level security: the application role only ever
-- touches its transaction's tenant, a superuser (manual repair) any.
CREATE FUNCTION analytics_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_tenant_generations AS g (tenant_id, generation)
    SELECT DISTINCT tenant_id, 1 FROM changed_rows
    ON CONFLICT (tenant_id) DO UPDATE SET generation = g.generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER analytics_record_versions_deleted AFTER DELETE ON analytics_record_versions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_bump_generation();
CREATE TRIGGER analytics_record_versions_updated AFTER UPDATE ON analytics_record_versions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_bump_generation();
CREATE TRIGGER analytics_lead_versions_deleted AFTER DELETE ON analytics_lead_versions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_bump_generation();
CREATE TRIGGER analytics_lead_versions_updated AFTER UPDATE ON analytics_lead_versions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_bump_generation();
CREATE TRIGGER analytics_opportunity_versions_deleted AFTER DELETE ON analytics_opportunity_versions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_bump_generation();
CREATE TRIGGER analytics_opportunity_versions_updated AFTER UPDATE ON analytics_opportunity_versions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_bump_generation();

-- The planner's view of xact_id, so that "rows since" takes the new index from the start (autovacuum keeps it up).
ANALYZE analytics_record_versions, analytics_lead_versions, analytics_opportunity_versions;
