-- Encryption at rest of the leads' personal columns (issue 15; README "Personal data at rest", docs/privacy.md).
-- given_name, family_name, email, phone, company_name, job_title, region, notes, status_reason and consent_text hold
-- "pv1." values sealed under the lead's data key (crm_subject_keys, subject = the lead id: the key that seals the
-- lead's events). E-mail and phone equality look-ups go through blind indexes beside them: HMAC-SHA256 of the stored
-- (normalized) value under the tenant's index key, 64 hex characters, '' for ''. Rows written before this migration
-- are sealed and indexed by the service's backfill (kit BackfillSealedColumns) after migrations, before serving.
ALTER TABLE leads ADD COLUMN email_index text NOT NULL DEFAULT '';
ALTER TABLE leads ADD COLUMN phone_index text NOT NULL DEFAULT '';

-- The open-lead dedup (0001) and the data-subject look-up (0006) probe the e-mail's blind index, never the e-mail.
DROP INDEX leads_open_email;
DROP INDEX leads_tenant_email;
CREATE INDEX leads_open_email ON leads (tenant_id, email_index)
    WHERE email_index <> '' AND status NOT IN ('CONVERTED', 'UNQUALIFIED');
CREATE INDEX leads_tenant_email ON leads (tenant_id, email_index) WHERE email_index <> '';

-- The duplicate-email check of creates, updates and web forms (0003), by the e-mail's blind index: the caller's lock
-- key is built from the index too (never the clear address).
DROP FUNCTION leads_lock_open_by_email(text, text, text);
CREATE FUNCTION leads_lock_open_by_email(p_lock_key text, p_tenant text, p_email_index text) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found_id text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
    SELECT id::text INTO found_id FROM leads WHERE tenant_id = p_tenant AND email_index = p_email_index
        AND email_index <> '' AND status NOT IN ('CONVERTED', 'UNQUALIFIED') LIMIT 1;
    RETURN found_id;
END
$$;

-- The rows the backfill still has to seal (its SealedTable::unsealed, src/sealed.hpp): a personal column with a clear
-- value. Empty once every row is sealed, so it costs nothing afterwards.
CREATE INDEX leads_unsealed ON leads (tenant_id)
    WHERE (given_name <> '' AND given_name NOT LIKE 'pv1.%') OR (family_name <> '' AND family_name NOT LIKE 'pv1.%')
       OR (email <> '' AND email NOT LIKE 'pv1.%') OR (phone <> '' AND phone NOT LIKE 'pv1.%')
       OR (company_name <> '' AND company_name NOT LIKE 'pv1.%') OR (job_title <> '' AND job_title NOT LIKE 'pv1.%')
       OR (region <> '' AND region NOT LIKE 'pv1.%') OR (notes <> '' AND notes NOT LIKE 'pv1.%')
       OR (status_reason <> '' AND status_reason NOT LIKE 'pv1.%')
       OR (consent_text <> '' AND consent_text NOT LIKE 'pv1.%');
