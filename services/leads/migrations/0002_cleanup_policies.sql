-- Upkeep of the two ever-growing tables: used web-form tokens (a token lives at most 24 hours, so a nonce used more
-- than two days ago can never be presented again validly) and idempotency keys (kept at least 24 hours, as the API
-- promises; removed after 7 days). The service's cleanup sets crm.maintenance = 'on' in its own short transaction; only
-- then do these policies let it see and delete other tenants' rows.
CREATE INDEX web_form_tokens_used_age ON web_form_tokens_used (use_time);
CREATE INDEX idempotency_keys_age ON idempotency_keys (create_time);

CREATE POLICY maintenance_select ON web_form_tokens_used FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_delete ON web_form_tokens_used FOR DELETE
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON idempotency_keys FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_delete ON idempotency_keys FOR DELETE
    USING (current_setting('crm.maintenance', true) = 'on');
