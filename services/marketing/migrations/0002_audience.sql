-- Marketing service schema, part 2: the audience read model (people from the contacts and leads events only), their
-- engagements and touches, and segments (static lists and dynamic rule trees) with their members.
--
-- No personal data outlives an erasure: ContactErased deletes the person's row, memberships and engagements, and
-- keeps only the id in erased_people (so that a late event cannot bring the person back) and anonymous touches.

CREATE TABLE audience (
    tenant_id      text        NOT NULL,
    id             uuid        NOT NULL,  -- the contact id or the lead id
    kind           text        NOT NULL CHECK (kind IN ('contact', 'lead')),
    state          text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleted', 'merged', 'converted')),
    email          text        NOT NULL DEFAULT '',
    given_name     text        NOT NULL DEFAULT '',
    family_name    text        NOT NULL DEFAULT '',
    job_title      text        NOT NULL DEFAULT '',
    company_name   text        NOT NULL DEFAULT '',
    country        text        NOT NULL DEFAULT '',
    lead_source    text        NOT NULL DEFAULT '',
    lead_status    text        NOT NULL DEFAULT '',
    lead_score     integer     NOT NULL DEFAULT 0,
    consent        text        NOT NULL DEFAULT 'unknown' CHECK (consent IN ('unknown', 'opted_in', 'opted_out')),
    tags           text[]      NOT NULL DEFAULT '{}',
    custom         jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    campaign_id    text        NOT NULL DEFAULT '',  -- a lead's campaign
    contact_id     uuid,                             -- a converted lead's contact; a merged contact's survivor
    source_version bigint      NOT NULL,             -- the aggregate version of the last snapshot applied
    create_time    timestamptz NOT NULL,
    update_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- Keyset scans of a tenant's active people (previews, full evaluation), lookups by email (sends, lists) and by
-- contact (a contact's originating leads), tag containment.
CREATE INDEX audience_active ON audience (tenant_id, id) WHERE state = 'active';
CREATE INDEX audience_email ON audience (tenant_id, email) WHERE email <> '';
CREATE INDEX audience_contact ON audience (tenant_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX audience_score ON audience (tenant_id, lead_score) WHERE state = 'active';
CREATE INDEX audience_tags ON audience USING gin (tags);

-- Ids only: an erased person's events that arrive late are ignored.
CREATE TABLE erased_people (
    tenant_id  text        NOT NULL,
    id         uuid        NOT NULL,
    erase_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- What people did: the leads service's engagements (whitepaper_download, ...) and marketing's own touches
-- (link_clicked, email_opened, email_clicked, form_submitted). A touch has a campaign. person_id is NULL for an
-- anonymous visitor (visitor_id) and after an erasure (the touch is kept as a count).
CREATE TABLE engagements (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    person_id   uuid,
    visitor_id  text        NOT NULL DEFAULT '',
    type        text        NOT NULL,
    campaign_id uuid,
    channel     text        NOT NULL DEFAULT '',
    occur_time  timestamptz NOT NULL,
    source_event uuid,  -- the consumed event it came from (one engagement per event)
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_event)
);
CREATE INDEX engagements_person ON engagements (tenant_id, person_id, type, occur_time) WHERE person_id IS NOT NULL;
CREATE INDEX engagements_campaign ON engagements (tenant_id, campaign_id, occur_time) WHERE campaign_id IS NOT NULL;

CREATE TABLE segments (
    tenant_id          text        NOT NULL,
    id                 uuid        NOT NULL,
    name               text        NOT NULL CHECK (name <> ''),
    description        text        NOT NULL DEFAULT '',
    type               text        NOT NULL CHECK (type IN ('STATIC', 'DYNAMIC')),
    rule               jsonb,      -- a DYNAMIC segment's crm.marketing.v1.SegmentRule (proto JSON)
    member_count       bigint      NOT NULL DEFAULT 0,
    membership_version bigint      NOT NULL DEFAULT 0,  -- aggregate version of SegmentMembershipChanged
    version            bigint      NOT NULL DEFAULT 1,
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((type = 'DYNAMIC') = (rule IS NOT NULL))
);
CREATE INDEX segments_tenant_create ON segments (tenant_id, create_time DESC, id DESC);
CREATE INDEX segments_dynamic ON segments (tenant_id, id) WHERE type = 'DYNAMIC';

CREATE TABLE segment_members (
    tenant_id  text        NOT NULL,
    segment_id uuid        NOT NULL,
    person_id  uuid        NOT NULL,
    add_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, segment_id, person_id),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX segment_members_person ON segment_members (tenant_id, person_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['audience', 'erased_people', 'engagements', 'segments', 'segment_members'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
