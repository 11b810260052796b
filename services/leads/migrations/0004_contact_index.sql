-- ListLeads by contact_id (the lead a contact was converted from, for support's customer view): keyset order within
-- the converted leads of one contact.
CREATE INDEX leads_tenant_contact ON leads (tenant_id, contact_id, create_time, id) WHERE contact_id IS NOT NULL;
