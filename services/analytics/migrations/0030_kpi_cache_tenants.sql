-- The tenants whose KPIs were read (src/cache/dataset_cache.hpp). A replica that starts loads the most recently read
-- ones into its KPI cache in the background (as many as its budget holds), so that the first read of a tenant after a
-- start finds it folded instead of loading and folding every fact of the tenant during the call (seconds at 100,000
-- deals). One row per tenant, written by a replica when it loads the tenant and then at most hourly while reading it;
-- bytes is the estimated size of the fold, which the warm-up counts against the budget before loading.
CREATE TABLE analytics_kpi_cache_tenants (
    tenant_id text        PRIMARY KEY,
    read_at   timestamptz NOT NULL,
    bytes     bigint      NOT NULL CHECK (bytes >= 0)
);
-- The warm-up's list: the most recently read first.
CREATE INDEX analytics_kpi_cache_tenants_read ON analytics_kpi_cache_tenants (read_at);
ALTER TABLE analytics_kpi_cache_tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_kpi_cache_tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_kpi_cache_tenants
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
-- The warm-up lists tenants across tenants in a transaction of its own that sets crm.maintenance = 'on' (the kit's
-- upkeep pattern); it reads ids and sizes only, never facts.
CREATE POLICY maintenance_select ON analytics_kpi_cache_tenants FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
