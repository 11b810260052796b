-- A deal's source campaign is the id the sending service uses (leads passes its lead's campaign id, which need not be
-- a UUID): store it as opaque text ('' = none), like owner_id.
ALTER TABLE opportunities ALTER COLUMN source_campaign_id TYPE text USING coalesce(source_campaign_id::text, '');
ALTER TABLE opportunities ALTER COLUMN source_campaign_id SET DEFAULT '';
ALTER TABLE opportunities ALTER COLUMN source_campaign_id SET NOT NULL;
