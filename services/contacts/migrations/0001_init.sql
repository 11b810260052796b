-- Contacts service schema: contacts, companies, custom field definitions, consent history, idempotency keys.
--
-- Every table is tenant-scoped: tenant_id leads every primary key and index, and a FORCEd row-level security policy
-- limits each statement to the tenant the common runtime sets per transaction (set_config('crm.tenant_id', ..., true)).
-- Values are stored normalized by the service (src/domain): email lowercased, phone in E.164, names folded for
-- matching in the *_normalized columns. The outbox, processed-events and schema_migrations tables belong to common/.
-- Grants are given by the migration runner, never here.

-- pg_trgm computes trigrams (show_trgm) and the similarity of names; it is a trusted extension (PostgreSQL 13+), so
-- the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A note on indexes and row-level security. Under RLS, PostgreSQL uses a condition as an index condition only when
-- its operator is LEAKPROOF, because it would otherwise run before the policy. Equality and the text_pattern_ops
-- comparisons (~>=~, ~<~) are leakproof; LIKE, pg_trgm's % and array @> are not, so GIN indexes for them would never
-- be used by the application role. Hence: prefix search is a range on text_pattern_ops indexes
-- (col ~>=~ 'abc' AND col ~<~ 'abc' || U+10FFFF), and name trigrams and tags are kept in lookup tables
-- (contact_name_trigrams, contact_tags) that a trigger maintains and that are searched by equality.

CREATE TABLE companies (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    name          text        NOT NULL CHECK (name <> ''),
    domain        text        NOT NULL DEFAULT '',  -- normalized web domain ("acme.com") or ''
    industry      text        NOT NULL DEFAULT '',
    owner_id      text        NOT NULL DEFAULT '',
    tags          text[]      NOT NULL DEFAULT '{}',
    custom_fields jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_fields) = 'object'),
    version       bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    delete_time   timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- Keyset paging: ORDER BY create_time, id (default) or update_time, id (updated_after filter).
CREATE INDEX companies_tenant_create ON companies (tenant_id, create_time, id);
CREATE INDEX companies_tenant_update ON companies (tenant_id, update_time, id);
CREATE INDEX companies_tenant_owner ON companies (tenant_id, owner_id, create_time, id);

CREATE TABLE contacts (
    tenant_id              text        NOT NULL,
    id                     uuid        NOT NULL,
    given_name             text        NOT NULL DEFAULT '',
    family_name            text        NOT NULL DEFAULT '',
    email                  text        NOT NULL DEFAULT '',  -- normalized: trimmed, lowercase addr-spec, or ''
    phone                  text        NOT NULL DEFAULT '',  -- normalized: E.164 ("+14155552671"), or ''
    job_title              text        NOT NULL DEFAULT '',
    company_id             uuid,
    owner_id               text        NOT NULL DEFAULT '',
    tags                   text[]      NOT NULL DEFAULT '{}',
    custom_fields          jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_fields) = 'object'),
    -- Matching forms (whitespace collapsed, lowercase, Latin diacritics folded), maintained by the service.
    given_name_normalized  text        NOT NULL DEFAULT '',
    family_name_normalized text        NOT NULL DEFAULT '',
    full_name_normalized   text        NOT NULL DEFAULT '',
    -- Current email consent; the history is in contact_consent_log.
    consent_status         text        NOT NULL DEFAULT 'UNKNOWN'
                                       CHECK (consent_status IN ('UNKNOWN', 'OPTED_IN', 'OPTED_OUT')),
    consent_change_time    timestamptz,
    consent_source         text        NOT NULL DEFAULT '',
    state                  text        NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'MERGED', 'ERASED')),
    merged_into_id         uuid,
    version                bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time            timestamptz NOT NULL DEFAULT now(),
    update_time            timestamptz NOT NULL DEFAULT now(),
    delete_time            timestamptz,
    erase_time             timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- Composite keys: a reference can never point into another tenant.
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, merged_into_id) REFERENCES contacts (tenant_id, id),
    CHECK ((state = 'MERGED') = (merged_into_id IS NOT NULL)),
    CHECK ((state = 'ERASED') = (erase_time IS NOT NULL)),
    CHECK (merged_into_id IS DISTINCT FROM id)
);

-- Prefix search over active, non-deleted contacts: col ~>=~ $lo AND col ~<~ $hi. text_pattern_ops compares bytes, so
-- the ranges work whatever the collation. The email and phone indexes also serve the exact duplicate lookups
-- (email = $x, phone = $y) of CreateContact and FindDuplicates, which consider the same rows.
CREATE INDEX contacts_search_given_name ON contacts (tenant_id, given_name_normalized text_pattern_ops)
    WHERE state = 'ACTIVE' AND delete_time IS NULL;
CREATE INDEX contacts_search_family_name ON contacts (tenant_id, family_name_normalized text_pattern_ops)
    WHERE state = 'ACTIVE' AND delete_time IS NULL;
CREATE INDEX contacts_search_email ON contacts (tenant_id, email text_pattern_ops)
    WHERE state = 'ACTIVE' AND delete_time IS NULL;
CREATE INDEX contacts_search_phone ON contacts (tenant_id, phone text_pattern_ops)
    WHERE state = 'ACTIVE' AND delete_time IS NULL;
-- Keyset paging: ORDER BY create_time, id (default) or update_time, id (updated_after filter); owner and company
-- filters keep the same order so they page without sorting.
CREATE INDEX contacts_tenant_create ON contacts (tenant_id, create_time, id);
CREATE INDEX contacts_tenant_update ON contacts (tenant_id, update_time, id);
CREATE INDEX contacts_tenant_owner ON contacts (tenant_id, owner_id, create_time, id);
CREATE INDEX contacts_tenant_company ON contacts (tenant_id, company_id, create_time, id) WHERE company_id IS NOT NULL;
-- Contacts merged into a survivor (export and erasure follow them).
CREATE INDEX contacts_tenant_merged_into ON contacts (tenant_id, merged_into_id) WHERE merged_into_id IS NOT NULL;

-- The pg_trgm trigrams (show_trgm) of full_name_normalized of every active, non-deleted contact. Names sharing at
-- least ceil(0.6 * n) of a probe's n trigrams are the only ones that can reach similarity 0.6, so duplicate
-- detection counts shared trigrams here (equality, indexable under RLS) and computes similarity() on those few.
CREATE TABLE contact_name_trigrams (
    tenant_id  text NOT NULL,
    trigram    text NOT NULL,
    contact_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, trigram, contact_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_name_trigrams_contact ON contact_name_trigrams (tenant_id, contact_id);

-- One row per tag of every contact (the tag filter of ListContacts).
CREATE TABLE contact_tags (
    tenant_id  text NOT NULL,
    tag        text NOT NULL,
    contact_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, tag, contact_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_tags_contact ON contact_tags (tenant_id, contact_id);

-- Keeps contact_name_trigrams and contact_tags in step with contacts, in the writing transaction and with the
-- writer's rights (so row-level security applies to the lookup rows too).
CREATE FUNCTION contacts_sync_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_indexed boolean := TG_OP = 'UPDATE' AND OLD.state = 'ACTIVE' AND OLD.delete_time IS NULL;
    is_indexed  boolean := NEW.state = 'ACTIVE' AND NEW.delete_time IS NULL;
BEGIN
    IF TG_OP = 'INSERT' OR was_indexed <> is_indexed
       OR OLD.full_name_normalized IS DISTINCT FROM NEW.full_name_normalized THEN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM contact_name_trigrams WHERE tenant_id = OLD.tenant_id AND contact_id = OLD.id;
        END IF;
        IF is_indexed THEN
            INSERT INTO contact_name_trigrams (tenant_id, trigram, contact_id)
            SELECT DISTINCT NEW.tenant_id, t, NEW.id FROM unnest(show_trgm(NEW.full_name_normalized)) AS t;
        END IF;
    END IF;
    IF TG_OP = 'INSERT' OR OLD.tags IS DISTINCT FROM NEW.tags THEN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM contact_tags WHERE tenant_id = OLD.tenant_id AND contact_id = OLD.id;
        END IF;
        INSERT INTO contact_tags (tenant_id, tag, contact_id)
        SELECT DISTINCT NEW.tenant_id, t, NEW.id FROM unnest(NEW.tags) AS t;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_sync_lookups AFTER INSERT OR UPDATE ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_sync_lookups();

CREATE TABLE custom_field_definitions (
    tenant_id      text        NOT NULL,
    id             uuid        NOT NULL,
    entity         text        NOT NULL CHECK (entity IN ('CONTACT', 'COMPANY')),
    key            text        NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    label          text        NOT NULL CHECK (label <> ''),
    type           text        NOT NULL CHECK (type IN ('TEXT', 'NUMBER', 'BOOLEAN', 'DATE', 'SINGLE_SELECT')),
    required       boolean     NOT NULL DEFAULT false,
    allowed_values text[]      NOT NULL DEFAULT '{}',
    create_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, entity, key),
    CHECK ((type = 'SINGLE_SELECT') = (cardinality(allowed_values) > 0))
);
CREATE INDEX custom_field_definitions_tenant_create ON custom_field_definitions (tenant_id, create_time, id);

-- Every recorded consent change (GDPR art. 7(1): the controller must be able to show consent). Erasing a contact
-- deletes its history.
CREATE TABLE contact_consent_log (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    contact_id  uuid        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('UNKNOWN', 'OPTED_IN', 'OPTED_OUT')),
    source      text        NOT NULL,
    change_time timestamptz NOT NULL DEFAULT now(),
    request_id  text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_consent_log_tenant_contact ON contact_consent_log (tenant_id, contact_id, change_time);

-- Idempotency claims (idempotency_keys) and per-database settings come from the common migrations (crm_0003,
-- crm_0004 in common/src/migrate.cpp), applied before this file.

-- Row-level security: a statement sees and writes only the rows of the transaction's tenant. FORCE makes it apply to
-- the table owner too; with crm.tenant_id unset, current_setting(..., true) is NULL and no row matches.
ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE companies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON companies
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contacts
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE custom_field_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_field_definitions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_field_definitions
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE contact_consent_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_consent_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_consent_log
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE contact_name_trigrams ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_name_trigrams FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_name_trigrams
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));

ALTER TABLE contact_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_tags
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
