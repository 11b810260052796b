-- Data-subject requests (src/subject_data/): a person's opportunities are found by the lead they were converted from
-- as well as by their contact (opportunities_tenant_contact).
CREATE INDEX opportunities_tenant_lead ON opportunities (tenant_id, lead_id) WHERE lead_id IS NOT NULL;
