-- Support service schema: cases, their conversation and the per-tenant case numbers.
--
-- Every table is tenant-scoped: tenant_id leads every primary key and index, and a FORCEd row-level security policy
-- limits each statement to the tenant the common runtime sets per transaction. Grants come from the migration runner;
-- idempotency keys, the outbox and processed events come from the common migrations.

CREATE TABLE cases (
    tenant_id           text        NOT NULL,
    id                  uuid        NOT NULL,
    number              bigint      NOT NULL CHECK (number >= 1),
    subject             text        NOT NULL CHECK (subject <> ''),
    description         text        NOT NULL DEFAULT '',
    contact_id          uuid,
    company_id          uuid,
    product             text        NOT NULL DEFAULT '',
    asset_id            text        NOT NULL DEFAULT '',
    priority            text        NOT NULL DEFAULT 'NORMAL' CHECK (priority IN ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
    status              text        NOT NULL DEFAULT 'NEW'
                                    CHECK (status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD', 'SOLVED', 'CLOSED',
                                                      'MERGED')),
    category            text        NOT NULL DEFAULT '',
    tags                text[]      NOT NULL DEFAULT '{}',
    channel             text        NOT NULL DEFAULT 'API' CHECK (channel IN ('API', 'WEB', 'EMAIL', 'CHAT', 'PHONE')),
    assignee_id         text        NOT NULL DEFAULT '',
    language            text        NOT NULL DEFAULT '',
    customer_tier       text        NOT NULL DEFAULT '',
    custom_fields       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_fields) = 'object'),
    first_response_time timestamptz,
    solve_time          timestamptz,
    close_time          timestamptz,
    reopen_count        integer     NOT NULL DEFAULT 0,
    merged_into_id      uuid,
    message_count       integer     NOT NULL DEFAULT 0,
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    CHECK ((status = 'MERGED') = (merged_into_id IS NOT NULL))
);
-- Keyset paging (ORDER BY create_time, id) with and without the equality filters.
CREATE INDEX cases_tenant_create ON cases (tenant_id, create_time, id);
CREATE INDEX cases_tenant_status ON cases (tenant_id, status, create_time, id);
CREATE INDEX cases_tenant_assignee ON cases (tenant_id, assignee_id, create_time, id);
CREATE INDEX cases_tenant_contact ON cases (tenant_id, contact_id, create_time, id);

-- The next case number of each tenant: a create locks its tenant's row (INSERT ... ON CONFLICT DO UPDATE), so
-- numbers are gap-free per committed case and never reused.
CREATE TABLE case_counters (
    tenant_id   text   NOT NULL PRIMARY KEY,
    last_number bigint NOT NULL
);

CREATE TABLE case_messages (
    tenant_id        text        NOT NULL,
    id               uuid        NOT NULL,
    case_id          uuid        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('CUSTOMER_MESSAGE', 'PUBLIC_REPLY', 'INTERNAL_NOTE')),
    channel          text        NOT NULL CHECK (channel IN ('API', 'WEB', 'EMAIL', 'CHAT', 'PHONE')),
    author_id        text        NOT NULL DEFAULT '',
    author_name      text        NOT NULL DEFAULT '',
    body             text        NOT NULL DEFAULT '',
    attachments      jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
    phone_call       jsonb,
    external_id      text        NOT NULL DEFAULT '',
    occur_time       timestamptz NOT NULL,
    create_time      timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Set when the author's personal data was erased (contacts' ContactErased): body and names blanked.
    erase_time       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id)
);
CREATE INDEX case_messages_case ON case_messages (tenant_id, case_id, create_time, id);
-- What an erased person wrote (contacts' ContactErased).
CREATE INDEX case_messages_author ON case_messages (tenant_id, author_id) WHERE kind = 'CUSTOMER_MESSAGE';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['cases', 'case_counters', 'case_messages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
