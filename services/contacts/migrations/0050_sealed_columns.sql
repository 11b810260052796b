-- Contacts schema, part 50: encryption at rest of the personal columns (issue 15; docs/privacy.md, "What PostgreSQL
-- sees"). email, phone and job_title hold values sealed by the service ("pv1." + AES-256-GCM under the contact's data
-- key in crm_subject_keys, the key that seals its events); email_index and phone_index hold the blind indexes
-- (HMAC-SHA256 under the tenant's index key) of the normalized e-mail and phone, which every equality lookup uses:
-- CreateContact's duplicate-email refusal, the duplicate candidates, search by a whole e-mail or phone number, and
-- data-subject requests by e-mail. Names stay clear (in their matching forms too): prefix search and the fuzzy
-- duplicate detection of similar names compute on them here, which no keyed hash can answer.
-- Rows written before this migration are sealed by the service before it answers (BackfillSealedColumns).

ALTER TABLE contacts ADD COLUMN email_index text NOT NULL DEFAULT '',
                     ADD COLUMN phone_index text NOT NULL DEFAULT '';

-- The lookups of the former clear columns, on the indexes (same partial predicates).
DROP INDEX contacts_search_email;
DROP INDEX contacts_search_phone;
DROP INDEX contacts_subject_email;
CREATE INDEX contacts_email_index ON contacts (tenant_id, email_index) WHERE state = 'ACTIVE' AND delete_time IS NULL;
CREATE INDEX contacts_phone_index ON contacts (tenant_id, phone_index) WHERE state = 'ACTIVE' AND delete_time IS NULL;
CREATE INDEX contacts_subject_email_index ON contacts (tenant_id, email_index) WHERE email_index <> '';

-- The rows still to seal (the backfill's look-ups; empty once it ran).
CREATE INDEX contacts_unsealed ON contacts (tenant_id)
    WHERE (email <> '' AND email_index = '') OR (phone <> '' AND phone_index = '')
       OR (job_title <> '' AND job_title NOT LIKE 'pv1.%');
-- The backfill lists the tenants with such rows in a maintenance transaction (SELECT only), then seals each tenant's
-- rows in a transaction of that tenant.
CREATE POLICY maintenance_select ON contacts FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');

-- The duplicate candidates (0004, 2.) by blind index: p_email_index and p_phone_index instead of the clear values.
DROP FUNCTION contacts_create(text, uuid, text, text, text, text, text, uuid, text, text[], jsonb, text, text, text,
                              text, bigint);
DROP FUNCTION contacts_duplicate_candidates(text, text, text, text, uuid, uuid);
CREATE FUNCTION contacts_duplicate_candidates(p_tenant text, p_email_index text, p_phone_index text, p_name text,
                                              p_company uuid, p_exclude uuid)
    RETURNS TABLE (contact_id uuid, name_similarity float8, contact contacts) LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    WITH hits AS (
        (SELECT m.id FROM contacts m WHERE p_email_index <> '' AND m.tenant_id = p_tenant AND m.state = 'ACTIVE'
            AND m.delete_time IS NULL AND m.email_index = p_email_index LIMIT 20)
        UNION ALL
        (SELECT m.id FROM contacts m WHERE p_phone_index <> '' AND m.tenant_id = p_tenant AND m.state = 'ACTIVE'
            AND m.delete_time IS NULL AND m.phone_index = p_phone_index LIMIT 20)
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

-- CreateContact in one call (0004, 4.), with the sealed values (p_email, p_phone, p_job_title) and their indexes. The
-- lock key (p_lock_key) is built by the service from the e-mail's blind index, never from the address.
CREATE FUNCTION contacts_create(p_tenant text, p_id uuid, p_given text, p_family text, p_email text, p_phone text,
                                p_job_title text, p_company uuid, p_owner text, p_tags text[], p_custom jsonb,
                                p_given_n text, p_family_n text, p_full_n text, p_lock_key text,
                                p_defs_version bigint, p_email_index text, p_phone_index text)
    RETURNS TABLE (kind text, name_similarity float8, contact contacts) LANGUAGE plpgsql VOLATILE
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    found_id uuid;
    current_version bigint;
BEGIN
    IF p_lock_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
        SELECT m.id INTO found_id FROM contacts m WHERE m.tenant_id = p_tenant AND m.state = 'ACTIVE'
            AND m.delete_time IS NULL AND m.email_index = p_email_index LIMIT 1;
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
        FROM contacts_duplicate_candidates(p_tenant, p_email_index, p_phone_index, p_full_n, p_company, NULL) d;
    RETURN QUERY INSERT INTO contacts AS m (tenant_id, id, given_name, family_name, email, phone, job_title,
                                           company_id, owner_id, tags, custom_fields, given_name_normalized,
                                           family_name_normalized, full_name_normalized, email_index, phone_index)
        VALUES (p_tenant, p_id, p_given, p_family, p_email, p_phone, p_job_title, p_company, p_owner, p_tags,
                p_custom, p_given_n, p_family_n, p_full_n, p_email_index, p_phone_index)
        RETURNING 'contact'::text, NULL::float8, m;
END
$$;
