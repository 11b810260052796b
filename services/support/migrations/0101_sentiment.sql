-- Sentiment: every customer message's score and label (domain/sentiment.cpp), and the tenant's rule that raises a
-- case's priority on strongly negative messages.

ALTER TABLE case_messages ADD COLUMN sentiment_score double precision CHECK (sentiment_score BETWEEN -1 AND 1);
ALTER TABLE case_messages ADD COLUMN sentiment_label text CHECK (sentiment_label IN ('NEGATIVE', 'NEUTRAL', 'POSITIVE'));
ALTER TABLE case_messages ADD CHECK ((sentiment_score IS NULL) = (sentiment_label IS NULL));

CREATE TABLE support_sentiment_rules (
    tenant_id   text             NOT NULL PRIMARY KEY,
    enabled     boolean          NOT NULL,
    threshold   double precision NOT NULL CHECK (threshold >= -1 AND threshold < 0),
    version     bigint           NOT NULL,
    update_time timestamptz      NOT NULL DEFAULT now()
);
ALTER TABLE support_sentiment_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE support_sentiment_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON support_sentiment_rules
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
