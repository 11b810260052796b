-- CreateCompany's duplicate refusal and insert in one call (issue 10), as contacts_create (0004) does for
-- CreateContact: the advisory lock of the company's key (the one UpdateCompany takes, companies_lock_key: the
-- normalized domain, or for a company without a domain its name ignoring case), the look-up of an active company with
-- that key, then the insert. In a volatile plpgsql function each statement takes a new snapshot, so the look-up after
-- the lock sees every create or update that held it before (the guarantee of the former separate statements).
-- Found: one row 'existing' (that company) and nothing is written; else one row 'company' (the inserted one). Each row
-- carries the whole companies row (read by the caller as CRM_COMPANY_COLUMNS). SECURITY INVOKER: row-level security
-- applies as to the caller's own statements. Plans: generic, kept per session (see contacts_duplicate_candidates).
CREATE FUNCTION companies_create(p_tenant text, p_id uuid, p_name text, p_domain text, p_industry text, p_owner text,
                                 p_tags text[], p_custom jsonb)
    RETURNS TABLE (kind text, company companies) LANGUAGE plpgsql VOLATILE
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    found_id uuid;
BEGIN
    IF p_domain <> '' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('contacts.company:' || p_tenant || ':' || lower('domain:' || p_domain), 0));
        SELECT co.id INTO found_id FROM companies co WHERE co.tenant_id = p_tenant AND co.delete_time IS NULL
            AND co.domain <> '' AND co.domain = p_domain ORDER BY co.create_time, co.id LIMIT 1;
    ELSE
        PERFORM pg_advisory_xact_lock(hashtextextended('contacts.company:' || p_tenant || ':' || lower('name:' || p_name), 0));
        SELECT co.id INTO found_id FROM companies co WHERE co.tenant_id = p_tenant AND co.delete_time IS NULL
            AND co.name_key = lower(p_name) ORDER BY co.create_time, co.id LIMIT 1;
    END IF;
    IF found_id IS NOT NULL THEN
        RETURN QUERY SELECT 'existing'::text, co FROM companies co WHERE co.tenant_id = p_tenant AND co.id = found_id;
        RETURN;
    END IF;
    RETURN QUERY INSERT INTO companies AS co (tenant_id, id, name, domain, industry, owner_id, tags, custom_fields)
        VALUES (p_tenant, p_id, p_name, p_domain, p_industry, p_owner, p_tags, p_custom)
        RETURNING 'company'::text, co;
END
$$;
