-- Data-subject requests (src/subject_data/): a person's enrolments in every state (the existing person indexes cover
-- active ones, or lead with the sequence).
CREATE INDEX sequence_enrolments_of_person ON sequence_enrolments (tenant_id, person_id) WHERE person_id IS NOT NULL;
