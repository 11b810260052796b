-- Contacts schema, part 40: data-subject requests find a person's contacts by e-mail whatever their state (active,
-- merged into another, soft-deleted), which the search index (active rows only) does not cover.
CREATE INDEX contacts_subject_email ON contacts (tenant_id, email) WHERE email <> '';
