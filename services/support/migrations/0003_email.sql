-- E-mail: where a case's public replies are e-mailed, whether a reply was, and the lookup of a case by the
-- Message-IDs of its e-mails (In-Reply-To / References threading, redelivery of one message).
ALTER TABLE cases ADD COLUMN customer_email text NOT NULL DEFAULT '';
ALTER TABLE case_messages ADD COLUMN email_delivery text NOT NULL DEFAULT ''
    CHECK (email_delivery IN ('', 'SENT', 'FAILED_TEMPORARY', 'FAILED_PERMANENT'));
CREATE INDEX case_messages_external ON case_messages (tenant_id, external_id) WHERE external_id <> '';
