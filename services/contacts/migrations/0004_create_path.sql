-- The create path at a few milliseconds whatever the tenant's size (issue 10): a duplicate-candidate lookup whose cost
-- is bounded by design, name index upkeep of one to three rows per contact instead of one per trigram, the custom
-- field definitions' version for the service's per-tenant cache, and CreateContact's checks and insert in one call.
--
-- 1. Name blocking keys. A name-only duplicate is reported when the pg_trgm similarity s (Jaccard of the trigram sets)
--    of the full names is >= 0.9, a same-company one when s >= 0.6 (proto DuplicateMatch). Prefix filtering makes
--    that a lookup by equality: order the trigrams of every name by one fixed order; two sets A, B with
--    J(A, B) >= t share at least one trigram among the first |A| - ceil(t |A|) + 1 of A and the first
--    |B| - ceil(t |B|) + 1 of B (they overlap in >= t max(|A|, |B|) trigrams). So each active contact keeps only those
--    prefix trigrams as keys: 'n:<trigram>' for t = 0.9 (1 key up to 10 trigrams, 2 up to 20, ...), and, when it has a
--    company, 'c:<company>:<trigram>' for t = 0.6 (about 0.4 n + 1 keys, scoped to the company). The fixed order puts
--    word-interior trigrams ("mit") before word-boundary ones ("  s", " sm", "th "), of which there are few and
--    which many names share, then orders by md5: the keys spread over many values.
--    A common name still gives a long posting list (every "james smith" shares its keys), so a probe reads, per key,
--    at most the 10 names sorting at or after its own and the 10 before it (sorted neighbourhood within the block;
--    equal names come first): at most 20 index entries per key, whatever the tenant's size. Within that window the
--    lookup is exact; a name-only match is missed only when more than 10 names of a key sort between it and the
--    probe (e.g. word order swapped, or more than 10 contacts with the probe's very name: 10 are reported anyway).
CREATE FUNCTION contact_name_keys_of(name text, company uuid) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH t AS (SELECT g, row_number() OVER (ORDER BY strpos(g, ' ') > 0, md5(g), g) AS r, count(*) OVER () AS n
               FROM unnest(show_trgm(coalesce(name, ''))) AS g)
    SELECT coalesce(array_agg(k ORDER BY k), '{}') FROM (
        SELECT 'n:' || g AS k FROM t WHERE r <= n - ceil(0.9 * n) + 1
        UNION ALL
        SELECT 'c:' || company::text || ':' || g FROM t WHERE company IS NOT NULL AND r <= n - ceil(0.6 * n) + 1) keys
$$;

CREATE TABLE contact_name_keys (
    tenant_id  text NOT NULL,
    name_key   text NOT NULL,
    full_name  text NOT NULL,  -- full_name_normalized of the contact: the neighbourhood order and the pre-filter
    contact_id uuid NOT NULL,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
-- The only index: lookups by key in name order (text_pattern_ops: ~>=~/~<~ are leakproof, so they are index conditions
-- under row-level security), and the trigger's deletes (key, name and id are all known). Contacts are never deleted
-- (erasure and merges update them), so the cascade needs no index by contact.
CREATE UNIQUE INDEX contact_name_keys_lookup ON contact_name_keys
    (tenant_id, name_key, full_name text_pattern_ops, contact_id);
ALTER TABLE contact_name_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_name_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_name_keys
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

-- The trigger keeps the keys (instead of every trigram) and writes tag rows only when there are tags.
CREATE OR REPLACE FUNCTION contacts_sync_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_indexed boolean := TG_OP = 'UPDATE' AND OLD.state = 'ACTIVE' AND OLD.delete_time IS NULL;
    is_indexed  boolean := NEW.state = 'ACTIVE' AND NEW.delete_time IS NULL;
BEGIN
    IF TG_OP = 'INSERT' OR was_indexed <> is_indexed
       OR OLD.full_name_normalized IS DISTINCT FROM NEW.full_name_normalized
       OR OLD.company_id IS DISTINCT FROM NEW.company_id THEN
        IF was_indexed THEN
            DELETE FROM contact_name_keys
            WHERE tenant_id = OLD.tenant_id AND name_key = ANY (contact_name_keys_of(OLD.full_name_normalized, OLD.company_id))
              AND full_name = OLD.full_name_normalized AND contact_id = OLD.id;
        END IF;
        IF is_indexed AND NEW.full_name_normalized <> '' THEN
            INSERT INTO contact_name_keys (tenant_id, name_key, full_name, contact_id)
            SELECT NEW.tenant_id, k, NEW.full_name_normalized, NEW.id
            FROM unnest(contact_name_keys_of(NEW.full_name_normalized, NEW.company_id)) AS k;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.tags IS DISTINCT FROM NEW.tags THEN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM contact_tags WHERE tenant_id = OLD.tenant_id AND contact_id = OLD.id;
        END IF;
        IF cardinality(NEW.tags) > 0 THEN
            INSERT INTO contact_tags (tenant_id, tag, contact_id)
            SELECT DISTINCT NEW.tenant_id, t, NEW.id FROM unnest(NEW.tags) AS t;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Existing contacts get their keys; the trigram table is no longer read or written. The owner backfills across
-- tenants with the policy lifted for this transaction only.
ALTER TABLE contacts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE contact_name_keys NO FORCE ROW LEVEL SECURITY;
INSERT INTO contact_name_keys (tenant_id, name_key, full_name, contact_id)
SELECT c.tenant_id, k, c.full_name_normalized, c.id
FROM contacts c CROSS JOIN LATERAL unnest(contact_name_keys_of(c.full_name_normalized, c.company_id)) AS k
WHERE c.state = 'ACTIVE' AND c.delete_time IS NULL AND c.full_name_normalized <> '';
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
ALTER TABLE contact_name_keys FORCE ROW LEVEL SECURITY;
DROP TABLE contact_name_trigrams;

-- 2. Duplicate candidates of a probe (email, phone, normalized full name, company, id to leave out), each with the name
--    similarity and the whole contacts row (read once): same email, same phone (at most 20 each: the oldest, as the
--    index keeps equal keys in insertion order), and names sharing a blocking key whose similarity passes the key's
--    threshold (0.9, or 0.6 within the company). plpgsql keeps the plan of each statement per session, and plan_cache_mode =
--    force_generic_plan makes it use that plan on every call: left to choose, it kept planning a custom plan per call
--    (about 1 ms, more than running the lookup: 0.5-1.2 ms per call against 1.6-5 ms on the loaded 2-core host, the
--    same at 1k, 100k and 1M contacts; the generic plan is the same index-only walk, see
--    tests/integration/contacts_explain_test.cpp). SECURITY INVOKER: row-level security applies as to the caller's own
--    statements.
CREATE FUNCTION contacts_duplicate_candidates(p_tenant text, p_email text, p_phone text, p_name text, p_company uuid,
                                              p_exclude uuid)
    RETURNS TABLE (contact_id uuid, name_similarity float8, contact contacts) LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    WITH hits AS (
        (SELECT m.id FROM contacts m WHERE p_email <> '' AND m.tenant_id = p_tenant AND m.state = 'ACTIVE'
            AND m.delete_time IS NULL AND m.email = p_email LIMIT 20)
        UNION ALL
        (SELECT m.id FROM contacts m WHERE p_phone <> '' AND m.tenant_id = p_tenant AND m.state = 'ACTIVE'
            AND m.delete_time IS NULL AND m.phone = p_phone LIMIT 20)
        UNION ALL
        SELECT w.contact_id FROM unnest(contact_name_keys_of(p_name, p_company)) AS k(name_key)
        CROSS JOIN LATERAL (
            (SELECT x.contact_id, x.full_name FROM contact_name_keys x
             WHERE x.tenant_id = p_tenant AND x.name_key = k.name_key AND x.full_name ~>=~ p_name
             ORDER BY x.full_name USING ~<~ LIMIT 10)
            UNION ALL
            (SELECT x.contact_id, x.full_name FROM contact_name_keys x
             WHERE x.tenant_id = p_tenant AND x.name_key = k.name_key AND x.full_name ~<~ p_name
             ORDER BY x.full_name USING ~>~ LIMIT 10)) w
        WHERE p_name <> ''
          AND similarity(w.full_name, p_name) >= CASE WHEN k.name_key LIKE 'c:%' THEN 0.6 ELSE 0.9 END)
    SELECT c.id, similarity(c.full_name_normalized, p_name)::float8, c
    FROM (SELECT DISTINCT hits.id FROM hits) h
    JOIN contacts c ON c.tenant_id = p_tenant AND c.id = h.id
    WHERE c.state = 'ACTIVE' AND c.delete_time IS NULL AND c.id IS DISTINCT FROM p_exclude;
END
$$;

-- 3. The version of a tenant's custom field definitions (any insert, update or delete bumps it), so that the service
--    can keep the definitions in memory and check the version inside the statement that writes (see 4.).
CREATE TABLE custom_field_versions (
    tenant_id text PRIMARY KEY,
    version   bigint NOT NULL
);
ALTER TABLE custom_field_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_field_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_field_versions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE FUNCTION custom_field_definitions_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO custom_field_versions AS v (tenant_id, version)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER custom_field_definitions_bump_version AFTER INSERT OR UPDATE OR DELETE ON custom_field_definitions
    FOR EACH ROW EXECUTE FUNCTION custom_field_definitions_bump_version();
ALTER TABLE custom_field_definitions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE custom_field_versions NO FORCE ROW LEVEL SECURITY;
INSERT INTO custom_field_versions (tenant_id, version)
SELECT DISTINCT tenant_id, 1 FROM custom_field_definitions;
ALTER TABLE custom_field_definitions FORCE ROW LEVEL SECURITY;
ALTER TABLE custom_field_versions FORCE ROW LEVEL SECURITY;

-- 4. CreateContact's checks and insert in one call (one round trip, plans kept per session). In order:
--    a. when p_lock_key is not NULL (an email to refuse duplicates of): the advisory lock that serialises creates of
--       that address in the tenant, then the look-up of an active contact with it. In a volatile plpgsql function each
--       statement takes a new snapshot, so the look-up after the lock sees every create that held it before (the same
--       guarantee as the former two statements). Found: one row 'existing' (its id) and nothing is written.
--    b. the custom field definitions' version against the one the caller validated with (p_defs_version): when they
--       differ, one row 'stale' (the current version) and nothing is written; the caller reloads and calls again.
--    c. the duplicate candidates (rows 'candidate', with the name similarity), read before the insert.
--    d. the insert (row 'contact'); the lookup trigger writes the name keys.
--    Each row carries the whole contacts row, read by the caller as CRM_CONTACT_COLUMNS. Plans: generic, as in 2.
CREATE FUNCTION contacts_create(p_tenant text, p_id uuid, p_given text, p_family text, p_email text, p_phone text,
                                p_job_title text, p_company uuid, p_owner text, p_tags text[], p_custom jsonb,
                                p_given_n text, p_family_n text, p_full_n text, p_lock_key text,
                                p_defs_version bigint)
    RETURNS TABLE (kind text, name_similarity float8, contact contacts) LANGUAGE plpgsql VOLATILE
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    found_id uuid;
    current_version bigint;
BEGIN
    IF p_lock_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
        SELECT m.id INTO found_id FROM contacts m WHERE m.tenant_id = p_tenant AND m.state = 'ACTIVE'
            AND m.delete_time IS NULL AND m.email = p_email LIMIT 1;
        IF found_id IS NOT NULL THEN
            RETURN QUERY SELECT 'existing'::text, NULL::float8, m FROM contacts m
                WHERE m.tenant_id = p_tenant AND m.id = found_id;
            RETURN;
        END IF;
    END IF;
    SELECT coalesce(max(v.version), 0) INTO current_version FROM custom_field_versions v WHERE v.tenant_id = p_tenant;
    IF current_version <> p_defs_version THEN
        RETURN QUERY SELECT 'stale'::text, current_version::float8, NULL::contacts;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'candidate'::text, d.name_similarity, d.contact
        FROM contacts_duplicate_candidates(p_tenant, p_email, p_phone, p_full_n, p_company, NULL) d;
    RETURN QUERY INSERT INTO contacts AS m (tenant_id, id, given_name, family_name, email, phone, job_title,
                                           company_id, owner_id, tags, custom_fields, given_name_normalized,
                                           family_name_normalized, full_name_normalized)
        VALUES (p_tenant, p_id, p_given, p_family, p_email, p_phone, p_job_title, p_company, p_owner, p_tags,
                p_custom, p_given_n, p_family_n, p_full_n)
        RETURNING 'contact'::text, NULL::float8, m;
END
$$;
