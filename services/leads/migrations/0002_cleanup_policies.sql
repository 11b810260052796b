-- Upkeep of used web-form tokens (a token lives at most 24 hours, so a nonce used more than two days ago can never be
-- presented again validly); idempotency keys are purged by the kit (common migration crm_0003). The service's cleanup
-- sets crm.maintenance = 'on' in its own short transaction; only then do these policies let it see and delete other
-- tenants' rows.
CREATE INDEX web_form_tokens_used_age ON web_form_tokens_used (use_time);

CREATE POLICY maintenance_select ON web_form_tokens_used FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_delete ON web_form_tokens_used FOR DELETE
    USING (current_setting('crm.maintenance', true) = 'on');
