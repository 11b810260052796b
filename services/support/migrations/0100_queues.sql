-- Queues and routing: queues with their members (skills, languages, capacity), the agents' presence, the tenant's
-- routing rules, each case's queue and its routing history. RLS FORCEd on every new table, as everywhere.

ALTER TABLE cases ADD COLUMN queue_id uuid;
-- Waiting cases of a queue (active, nobody assigned), oldest first: an agent becoming available takes them.
CREATE INDEX cases_queue_waiting ON cases (tenant_id, queue_id, create_time, id)
    WHERE assignee_id = '' AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD');
-- An agent's load: the active cases assigned to them.
CREATE INDEX cases_active_assignee ON cases (tenant_id, assignee_id)
    WHERE assignee_id <> '' AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER', 'ON_HOLD');

CREATE TABLE support_queues (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (name <> ''),
    name_key    text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    strategy    text        NOT NULL CHECK (strategy IN ('ROUND_ROBIN', 'LEAST_LOADED')),
    active      boolean     NOT NULL DEFAULT true,
    -- The member who got the queue's last case (round-robin goes on after them).
    last_agent  text        NOT NULL DEFAULT '',
    version     bigint      NOT NULL DEFAULT 1,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE support_queue_members (
    tenant_id text    NOT NULL,
    queue_id  uuid    NOT NULL,
    agent_id  text    NOT NULL,
    position  integer NOT NULL,
    skills    text[]  NOT NULL DEFAULT '{}',
    languages text[]  NOT NULL DEFAULT '{}',
    capacity  integer NOT NULL CHECK (capacity BETWEEN 1 AND 1000),
    PRIMARY KEY (tenant_id, queue_id, agent_id),
    FOREIGN KEY (tenant_id, queue_id) REFERENCES support_queues (tenant_id, id)
);
-- The queues of an agent (an agent becoming available).
CREATE INDEX support_queue_members_agent ON support_queue_members (tenant_id, agent_id);

CREATE TABLE support_agent_presence (
    tenant_id   text        NOT NULL,
    agent_id    text        NOT NULL,
    presence    text        NOT NULL CHECK (presence IN ('AVAILABLE', 'AWAY')),
    updated_by  text        NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id)
);

CREATE TABLE support_routing_rules (
    tenant_id        text        NOT NULL PRIMARY KEY,
    -- crm.support.v1.RoutingRules as JSON (the rules in order, the default queue; checked by the service).
    body             jsonb       NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    version          bigint      NOT NULL,
    update_time      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE case_routings (
    tenant_id            text        NOT NULL,
    id                   uuid        NOT NULL,
    case_id              uuid        NOT NULL,
    queue_id             uuid,
    previous_queue_id    uuid,
    rule_index           integer     NOT NULL,
    rule_name            text        NOT NULL DEFAULT '',
    -- The skills the matching rule asked for (an agent taking the case later must have them).
    required_skills      text[]      NOT NULL DEFAULT '{}',
    assignee_id          text        NOT NULL DEFAULT '',
    previous_assignee_id text        NOT NULL DEFAULT '',
    reason               text        NOT NULL CHECK (reason IN ('NEW_CASE', 'REROUTE', 'AGENT_AVAILABLE')),
    actor_id             text        NOT NULL DEFAULT '',
    note                 text        NOT NULL DEFAULT '',
    create_time          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id)
);
CREATE INDEX case_routings_case ON case_routings (tenant_id, case_id, create_time, id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['support_queues', 'support_queue_members', 'support_agent_presence',
                             'support_routing_rules', 'case_routings'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
