-- Marketing service schema, part 7: sequences (journeys). A sequence's definition is versioned (sequence_versions
-- keeps every version, enrolments run the one they enrolled in); an enrolment is one person in one sequence (at most
-- once per sequence and person, and once per trigger event), with its next step and the instant it falls due: the
-- durable timer. Any replica takes due enrolments with FOR UPDATE SKIP LOCKED and runs a step, its side effects and
-- its events in one transaction, so a crash before the commit leaves the step to run again and a commit never lets it
-- run twice.

CREATE TABLE sequences (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (name <> ''),
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED')),
    trigger_type  text      NOT NULL,
    trigger_value text      NOT NULL DEFAULT '',
    version     bigint      NOT NULL DEFAULT 1,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- The triggers of a tenant's active sequences (looked up for every consumed event).
CREATE INDEX sequences_trigger ON sequences (tenant_id, trigger_type, trigger_value) WHERE status = 'ACTIVE';

-- Every version's definition (crm.marketing.v1.Sequence as proto JSON) and the identity steps act as when they call
-- the leads service (the user who saved the version, and that user's roles).
CREATE TABLE sequence_versions (
    tenant_id   text        NOT NULL,
    sequence_id uuid        NOT NULL,
    version     bigint      NOT NULL,
    definition  jsonb       NOT NULL,
    author_id   text        NOT NULL DEFAULT '',
    author_roles text       NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sequence_id, version),
    FOREIGN KEY (tenant_id, sequence_id) REFERENCES sequences (tenant_id, id)
);

-- status: active (next_step due at due_time), completed, exited (exit_reason).
CREATE TABLE sequence_enrolments (
    tenant_id        text        NOT NULL,
    id               uuid        NOT NULL,
    sequence_id      uuid        NOT NULL,
    sequence_version bigint      NOT NULL,
    person_id        uuid,       -- NULL after an erasure
    trigger_event_id uuid        NOT NULL,
    status           text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'exited')),
    next_step        integer     NOT NULL DEFAULT 0,  -- index into the version's steps
    due_time         timestamptz NOT NULL DEFAULT now(),
    exit_reason      text        NOT NULL DEFAULT '',
    event_seq        bigint      NOT NULL DEFAULT 0,  -- aggregate version of the enrolment's events
    enrol_time       timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sequence_id, sequence_version) REFERENCES sequence_versions (tenant_id, sequence_id, version)
);
-- Once per sequence and person (a redelivered or a second trigger event enrols nobody again).
CREATE UNIQUE INDEX sequence_enrolments_person ON sequence_enrolments (tenant_id, sequence_id, person_id);
-- The durable timers: due steps of a tenant (the runner's claim) and across tenants (its discovery).
CREATE INDEX sequence_enrolments_due ON sequence_enrolments (tenant_id, due_time) WHERE status = 'active';
CREATE INDEX sequence_enrolments_due_all ON sequence_enrolments (due_time) WHERE status = 'active';
-- A person's active enrolments (exits on conversion, unsubscribe, erasure).
CREATE INDEX sequence_enrolments_active_person ON sequence_enrolments (tenant_id, person_id) WHERE status = 'active';
-- Listing a sequence's enrolments, newest first.
CREATE INDEX sequence_enrolments_list ON sequence_enrolments (tenant_id, sequence_id, enrol_time DESC, id DESC);

-- What each step did for an enrolment (once per enrolment and step: the primary key makes a repeat impossible).
CREATE TABLE sequence_step_runs (
    tenant_id     text        NOT NULL,
    enrolment_id  uuid        NOT NULL,
    step_id       text        NOT NULL,
    outcome       text        NOT NULL,
    send_id       uuid,
    variant       text        NOT NULL DEFAULT '',
    run_seq       bigint      NOT NULL,  -- the enrolment's event sequence of its SequenceStepExecuted (step order)
    run_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, enrolment_id, step_id),
    FOREIGN KEY (tenant_id, enrolment_id) REFERENCES sequence_enrolments (tenant_id, id)
);
-- Split reports: the enrolments of a sequence's split step by variant.
CREATE INDEX sequence_step_runs_variant ON sequence_step_runs (tenant_id, step_id, variant) WHERE variant <> '';

-- The messages of a sequence's send_email steps go through email_sends (one send per sequence version and step, never
-- completed: the sender takes its recipients as they are queued) and email_recipients (one row per send and person).
ALTER TABLE email_sends ALTER COLUMN segment_id DROP NOT NULL;
ALTER TABLE email_sends ADD COLUMN sequence_id uuid;
ALTER TABLE email_sends ADD COLUMN sequence_step text;
ALTER TABLE email_sends ADD CONSTRAINT email_sends_target CHECK ((segment_id IS NULL) <> (sequence_id IS NULL));
CREATE UNIQUE INDEX email_sends_sequence_step ON email_sends (tenant_id, sequence_id, sequence_step)
    WHERE sequence_id IS NOT NULL;
-- Sequence sends with messages due (the sender's discovery takes them only then).
CREATE INDEX email_recipients_pending ON email_recipients (send_id) WHERE status = 'pending';
-- Clicks of a message (branches on "clicked", split reports).
ALTER TABLE email_recipients ADD COLUMN click_time timestamptz;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sequences', 'sequence_versions', 'sequence_enrolments', 'sequence_step_runs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
-- The runner's cross-tenant discovery of due enrolments (read only).
CREATE POLICY maintenance_select ON sequence_enrolments FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
