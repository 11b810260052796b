-- CreateCompany refuses a duplicate: an active company of the tenant with the same (normalized) domain, or, when the
-- new company has no domain, the same name ignoring case. Under row-level security only leakproof operators are index
-- conditions, so the case-folded name is a stored column compared with plain text equality.
ALTER TABLE companies ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;
CREATE INDEX companies_tenant_domain ON companies (tenant_id, domain) WHERE delete_time IS NULL AND domain <> '';
CREATE INDEX companies_tenant_name_key ON companies (tenant_id, name_key) WHERE delete_time IS NULL;
