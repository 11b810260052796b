-- The duplicate-email check of lead creates and updates in one round trip (issue 10): the advisory lock that
-- serialises writers of one address in the tenant, then the look-up of an open lead with it. In a volatile plpgsql
-- function each statement takes a new snapshot, so the look-up after the lock sees every writer that held it before,
-- as the former two statements did; plpgsql also keeps the look-up's plan per session. SECURITY INVOKER: row-level
-- security applies as to the caller's own statements.
CREATE FUNCTION leads_lock_open_by_email(p_lock_key text, p_tenant text, p_email text) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found_id text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
    SELECT id::text INTO found_id FROM leads WHERE tenant_id = p_tenant AND email = p_email AND email <> ''
        AND status NOT IN ('CONVERTED', 'UNQUALIFIED') LIMIT 1;
    RETURN found_id;
END
$$;
