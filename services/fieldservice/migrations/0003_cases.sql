-- Work orders from support cases: the categories a tenant marks as needing a visit, what this service knows of
-- support's cases (from their events), and work orders without a site (created from a case event; a dispatcher sets
-- the site before booking).

ALTER TABLE work_orders ALTER COLUMN site_address DROP NOT NULL;
ALTER TABLE work_orders ALTER COLUMN site DROP NOT NULL;
ALTER TABLE work_orders ADD CONSTRAINT work_orders_site_complete CHECK ((site IS NULL) = (site_address IS NULL));

-- One row per tenant: its list of visit categories (crm.fieldservice.v1.VisitCategory as proto JSON objects).
CREATE TABLE visit_categories (
    tenant_id   text        NOT NULL PRIMARY KEY,
    id          uuid        NOT NULL,
    categories  jsonb       NOT NULL CHECK (jsonb_typeof(categories) = 'array'),
    -- 0: the row exists (locked by the first write) but no list was ever set.
    version     bigint      NOT NULL CHECK (version >= 0),
    update_time timestamptz NOT NULL DEFAULT now()
);

-- Support's cases as their events showed them last (the newest case version wins): what CreateWorkOrder copies from
-- a case and what decides whether a case needs a visit.
CREATE TABLE support_cases (
    tenant_id    text        NOT NULL,
    case_id      uuid        NOT NULL,
    case_number  bigint      NOT NULL DEFAULT 0,
    contact_id   uuid,
    company_id   uuid,
    category     text        NOT NULL DEFAULT '',
    case_version bigint      NOT NULL,
    update_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, case_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['visit_categories', 'support_cases'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
