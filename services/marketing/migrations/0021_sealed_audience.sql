-- Marketing service schema, part 21: encryption at rest of the personal columns (issue 15; README "Personal data at
-- rest", docs/privacy.md).
--
-- audience: email, given_name, family_name, job_title and company_name hold "pv1." values sealed under the person's
-- data key (crm_subject_keys, subject = the audience id, the contact or lead id); custom (jsonb) has each value sealed
-- for "audience.custom.<key>", the keys clear. The e-mail has a blind index beside it: HMAC-SHA256 of the stored
-- (lower-case) address under the tenant's index key, 64 hex characters, '' for ''. Segment conditions on sealed fields
-- are decided by the service after opening the candidate rows (src/segments/evaluation.cpp); e-mail equality goes
-- through the index.
ALTER TABLE audience ADD COLUMN email_index text NOT NULL DEFAULT '';
DROP INDEX audience_email;
CREATE INDEX audience_email_index ON audience (tenant_id, email_index) WHERE email_index <> '';

-- email_recipients: the address a message went to is the audience's sealed value copied as it is (sealed for
-- "audience.email" under the person's key), with the same blind index: unsubscribing and bounces suppress by it.
ALTER TABLE email_recipients ADD COLUMN email_index text NOT NULL DEFAULT '';

-- suppressions: never an address any more. address_key is the address's blind index (as audience.email_index), or,
-- for a suppression kept from before this migration after its person's erasure, "hmac-sha256:" + the service's
-- keyed hash (domain/suppression.hpp). Clear addresses of older rows are replaced by their index by the service's
-- backfill (src/email/suppressions.cpp) before it serves.
ALTER TABLE suppressions RENAME COLUMN email TO address_key;

-- The rows the backfills still have to seal (their SealedTable::unsealed, src/audience/sealed.hpp): empty once every
-- row is sealed, so they cost nothing afterwards.
CREATE INDEX audience_unsealed ON audience (tenant_id)
    WHERE (email <> '' AND email_index = '') OR (given_name <> '' AND given_name NOT LIKE 'pv1.%')
       OR (family_name <> '' AND family_name NOT LIKE 'pv1.%') OR (job_title <> '' AND job_title NOT LIKE 'pv1.%')
       OR (company_name <> '' AND company_name NOT LIKE 'pv1.%');
CREATE INDEX audience_custom_unsealed ON audience (tenant_id)
    WHERE jsonb_path_exists(custom, '$.* ? (@ != "" && !(@ starts with "pv1."))');
CREATE INDEX email_recipients_unsealed ON email_recipients (tenant_id) WHERE email <> '' AND email_index = '';
CREATE INDEX suppressions_clear ON suppressions (tenant_id) WHERE address_key LIKE '%@%';

-- The backfills find the tenants with rows to seal across tenants (read only).
CREATE POLICY maintenance_select ON audience FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON suppressions FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
