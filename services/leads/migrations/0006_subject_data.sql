-- Data-subject requests (src/subject_data/): a person's leads are found by e-mail whatever their status (the open-lead
-- index leads_open_email leaves converted and unqualified leads out). Erased leads have e-mail '' and leave it.
CREATE INDEX leads_tenant_email ON leads (tenant_id, email) WHERE email <> '';
