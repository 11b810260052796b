-- Marketing service schema, part 20: a person's history newest first (ListPersonEngagement, the support 360° view).
-- Each source is read through an index in the page's order and LIMITed, so a page costs its size whatever the
-- person's or the tenant's history: the engagements by (person, time, id); the e-mail outcomes (sent, bounced,
-- failed, unconfirmed) by (person, outcome time, send), the outcome time being sent_time, else the claim of the
-- attempt that ended the message.
CREATE INDEX engagements_person_time ON engagements (tenant_id, person_id, occur_time DESC, id DESC)
    WHERE person_id IS NOT NULL;
CREATE INDEX email_recipients_person_outcome
    ON email_recipients (tenant_id, person_id, (coalesce(sent_time, claim_time)) DESC, send_id DESC)
    WHERE status IN ('sent', 'bounced', 'failed', 'unconfirmed');
