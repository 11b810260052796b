-- Data-subject requests (src/subject_data/): a person's cases are also found by the address they were opened from,
-- and their satisfaction surveys by case (a survey of a case opened from an address has no contact).
CREATE INDEX cases_customer_email ON cases (tenant_id, customer_email) WHERE customer_email <> '';
CREATE INDEX csat_surveys_case ON csat_surveys (tenant_id, case_id);
