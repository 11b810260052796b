-- Gateway schema: API keys of integrations (crm.gateway.v1.ApiKeysService).
--
-- Only the SHA-256 of a key's secret is stored. A key is "crm_<id as 32 hex>_<secret>": the gateway finds the row by
-- the id embedded in the key and compares hashes in constant time.
--
-- Row-level security is FORCEd like everywhere else: the application role sees only the tenant of its transaction
-- (set_config('crm.tenant_id', ..., true)). Authenticating a key happens before the tenant is known, so one
-- SECURITY DEFINER function, api_key_for_auth(id), returns exactly the row of one key id (never a list, never a row
-- chosen by anything else): it runs as this schema's owner, which a policy limited to SELECT lets read every tenant's
-- keys. The application role cannot read other tenants' rows by any other path.
-- Grants on tables are given by the migration runner, never here.

CREATE TABLE api_keys (
    tenant_id        text        NOT NULL,
    id               uuid        NOT NULL,
    secret_sha256    bytea       NOT NULL CHECK (octet_length(secret_sha256) = 32),
    display_name     text        NOT NULL CHECK (display_name <> '' AND char_length(display_name) <= 200),
    roles            text[]      NOT NULL CHECK (cardinality(roles) BETWEEN 1 AND 16),
    rate_per_second  double precision NOT NULL DEFAULT 0 CHECK (rate_per_second >= 0),
    burst            integer     NOT NULL DEFAULT 0 CHECK (burst >= 0),
    creator          text        NOT NULL,
    request_id       text        NOT NULL DEFAULT '',
    create_time      timestamptz NOT NULL DEFAULT now(),
    revoke_time      timestamptz,
    last_use_time    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- A key id is unique across tenants (it is how a key is found before its tenant is known).
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
-- Keyset paging, newest first.
CREATE INDEX api_keys_tenant_create ON api_keys (tenant_id, create_time DESC, id DESC);
-- Idempotent creation.
CREATE UNIQUE INDEX api_keys_tenant_request ON api_keys (tenant_id, request_id) WHERE request_id <> '';

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

-- The owner (the role running migrations, hence SECURITY DEFINER functions) may read every row; it is not the role
-- the gateway serves calls with.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_key_lookup ON api_keys FOR SELECT TO %I USING (true)', current_user);
END
$$;

-- The one cross-tenant read: the row of one key id, for authentication.
CREATE FUNCTION api_key_for_auth(key_id uuid)
    RETURNS TABLE (tenant_id text, id uuid, secret_sha256 bytea, roles text[], rate_per_second double precision,
                   burst integer, revoke_time timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT k.tenant_id, k.id, k.secret_sha256, k.roles, k.rate_per_second, k.burst, k.revoke_time
    FROM public.api_keys k
    WHERE k.id = key_id
$$;
REVOKE ALL ON FUNCTION api_key_for_auth(uuid) FROM PUBLIC;
