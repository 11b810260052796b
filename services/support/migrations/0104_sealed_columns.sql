-- Encryption at rest of support's personal columns (issue 15; README "Personal data at rest", docs/privacy.md "What
-- PostgreSQL sees"). These columns hold "pv1." values sealed by the service (AES-256-GCM) under the data key of the
-- case in crm_subject_keys, the key that seals the case's events:
--   cases:         subject, description, customer_email, custom_fields (the whole map as JSON);
--   case_messages: author_name, body, attachments (the list as JSON: file names), phone_call (the call as JSON:
--                  numbers), all under the key of the case the entry belongs to (a merge re-seals moved entries);
--   csat_surveys:  comment (under its case's key);
--   case_routings: note (an agent's free text about the case, under its case's key).
-- The data-subject look-up of cases by the address they were opened from goes through customer_email_index, the blind
-- index (HMAC-SHA256 under the tenant's index key) of the stored address. Knowledge-base articles stay clear
-- (published content, searched in full text). Rows written before this migration are sealed by the service's backfill
-- (kit BackfillSealedColumns) after migrations, before it serves.

-- The JSON columns become text: a sealed value is not JSON. An empty list / map / no call is '' (nothing to seal).
ALTER TABLE cases DROP CONSTRAINT cases_custom_fields_check;
ALTER TABLE cases ALTER COLUMN custom_fields DROP DEFAULT;
ALTER TABLE cases ALTER COLUMN custom_fields TYPE text
    USING CASE WHEN custom_fields = '{}'::jsonb THEN '' ELSE custom_fields::text END;
ALTER TABLE cases ALTER COLUMN custom_fields SET DEFAULT '';
ALTER TABLE case_messages DROP CONSTRAINT case_messages_attachments_check;
ALTER TABLE case_messages ALTER COLUMN attachments DROP DEFAULT;
ALTER TABLE case_messages ALTER COLUMN attachments TYPE text
    USING CASE WHEN attachments = '[]'::jsonb THEN '' ELSE attachments::text END;
ALTER TABLE case_messages ALTER COLUMN attachments SET DEFAULT '';
ALTER TABLE case_messages ALTER COLUMN phone_call TYPE text USING coalesce(phone_call::text, '');
ALTER TABLE case_messages ALTER COLUMN phone_call SET DEFAULT '';
ALTER TABLE case_messages ALTER COLUMN phone_call SET NOT NULL;

-- The data-subject look-up by address (0103) probes the address's blind index, never the address.
ALTER TABLE cases ADD COLUMN customer_email_index text NOT NULL DEFAULT '';
DROP INDEX cases_customer_email;
CREATE INDEX cases_customer_email_index ON cases (tenant_id, customer_email_index) WHERE customer_email_index <> '';

-- The rows the backfill still has to seal (each table's SealedTable::unsealed, src/sealed.hpp): a personal column
-- with a clear value. Empty once every row is sealed, so they cost nothing afterwards.
CREATE INDEX cases_unsealed ON cases (tenant_id)
    WHERE (subject <> '' AND subject NOT LIKE 'pv1.%') OR (description <> '' AND description NOT LIKE 'pv1.%')
       OR (customer_email <> '' AND customer_email NOT LIKE 'pv1.%')
       OR (custom_fields <> '' AND custom_fields NOT LIKE 'pv1.%');
CREATE INDEX case_messages_unsealed ON case_messages (tenant_id)
    WHERE (author_name <> '' AND author_name NOT LIKE 'pv1.%') OR (body <> '' AND body NOT LIKE 'pv1.%')
       OR (attachments <> '' AND attachments NOT LIKE 'pv1.%') OR (phone_call <> '' AND phone_call NOT LIKE 'pv1.%');
CREATE INDEX csat_surveys_unsealed ON csat_surveys (tenant_id) WHERE comment <> '' AND comment NOT LIKE 'pv1.%';
CREATE INDEX case_routings_unsealed ON case_routings (tenant_id) WHERE note <> '' AND note NOT LIKE 'pv1.%';

-- The backfill lists the tenants with such rows in a maintenance transaction (SELECT only), then seals each tenant's
-- rows in a transaction of that tenant.
CREATE POLICY maintenance_select ON cases FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON case_messages FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON csat_surveys FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON case_routings FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
