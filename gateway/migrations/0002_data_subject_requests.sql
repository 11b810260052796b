-- Gateway schema, part 2: data-subject requests (crm.privacy.v1.DataSubjectRequestService, proto/crm/privacy/v1/
-- subject.proto). A request and one step per service; the worker (admin/data_subject_requests.cpp) moves them on
-- until every service has answered, surviving restarts and outages of any service.
--
-- What is kept about the person: the contact id or e-mail as asked and, once resolved, the ids and e-mails the
-- services know them by (needed to call the services again after a failure). When an erasure completes, the e-mails
-- are replaced by their SHA-256 (the receipt names them that way) and an export's document is kept for 30 days.

CREATE TABLE dsr_requests (
    tenant_id         text        NOT NULL,
    id                uuid        NOT NULL,
    request_id        text        NOT NULL CHECK (request_id <> ''),
    kind              text        NOT NULL CHECK (kind IN ('EXPORT', 'ERASE')),
    contact_id        text        NOT NULL DEFAULT '',
    email             text        NOT NULL DEFAULT '',
    email_sha256      text        NOT NULL DEFAULT '',
    state             text        NOT NULL CHECK (state IN ('RESOLVING', 'RUNNING', 'COMPLETED')),
    subject           bytea,      -- crm.privacy.v1.Subject, once resolved
    actor_user        text        NOT NULL,
    actor_key         text        NOT NULL,
    attempts          integer     NOT NULL DEFAULT 0,
    last_error        text        NOT NULL DEFAULT '',
    next_attempt_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    create_time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    complete_time     timestamptz,
    export_document   text,
    receipt_document  text,
    receipt_signature text,
    receipt_key_id    text,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, request_id)
);
-- The worker's scan of due requests (all tenants, under the maintenance policy below).
CREATE INDEX dsr_requests_due ON dsr_requests (next_attempt_time) WHERE state <> 'COMPLETED';
-- Exports' documents past their keeping time.
CREATE INDEX dsr_requests_exports ON dsr_requests (complete_time) WHERE export_document IS NOT NULL;

CREATE TABLE dsr_steps (
    tenant_id  text        NOT NULL,
    request    uuid        NOT NULL,
    service    text        NOT NULL,
    done       boolean     NOT NULL DEFAULT false,
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text        NOT NULL DEFAULT '',
    done_time  timestamptz,
    result     bytea,      -- ExportSubjectResponse or EraseSubjectResponse
    PRIMARY KEY (tenant_id, request, service),
    FOREIGN KEY (tenant_id, request) REFERENCES dsr_requests (tenant_id, id)
);

ALTER TABLE dsr_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE dsr_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dsr_requests
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
-- The worker lists due requests of every tenant in a transaction that sets crm.maintenance, then works on each in
-- its tenant's transaction.
CREATE POLICY maintenance_select ON dsr_requests FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
-- ... and drops exports' documents past their keeping time.
CREATE POLICY maintenance_update ON dsr_requests FOR UPDATE
    USING (current_setting('crm.maintenance', true) = 'on')
    WITH CHECK (current_setting('crm.maintenance', true) = 'on');
ALTER TABLE dsr_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE dsr_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dsr_steps
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
