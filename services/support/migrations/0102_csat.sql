-- Customer satisfaction: one survey per solving reply (AddCaseMessage with solve), answered once through its signed
-- public link. agent_id and queue_id are who solved the case and in which queue, as the survey was sent.

CREATE TABLE csat_surveys (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    case_id     uuid        NOT NULL,
    reply_id    uuid        NOT NULL,
    contact_id  uuid,
    agent_id    text        NOT NULL DEFAULT '',
    queue_id    uuid,
    solve_time  timestamptz NOT NULL,
    expire_time timestamptz NOT NULL,
    score       smallint    CHECK (score BETWEEN 1 AND 5),
    comment     text        NOT NULL DEFAULT '',
    answer_time timestamptz,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, reply_id),
    CHECK ((score IS NULL) = (answer_time IS NULL)),
    CHECK (answer_time IS NOT NULL OR comment = '')
);
-- The report reads the answers of a period; a contact's merge and erasure find their surveys.
CREATE INDEX csat_surveys_answered ON csat_surveys (tenant_id, answer_time) WHERE answer_time IS NOT NULL;
CREATE INDEX csat_surveys_contact ON csat_surveys (tenant_id, contact_id);
ALTER TABLE csat_surveys ENABLE ROW LEVEL SECURITY;
ALTER TABLE csat_surveys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON csat_surveys
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
