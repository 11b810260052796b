-- Encryption at rest, continued (issue 15; README "Personal data at rest", docs/privacy.md): the two personal values
-- 0007 left in clear.
-- * An engagement's free text (`lead_engagements.detail`, e.g. "asked about pricing for his clinic") holds a "pv1."
--   value sealed under its lead's data key (crm_subject_keys, subject = the lead id: the key of the lead's row and
--   events, which an erasure destroys).
-- * A lead's `attributes` (a web form's mapped fields, a jsonb object of strings) keeps its keys, the tenant's field
--   names, and holds each value sealed under the lead's key for "leads.attributes.<key>".
-- Rows written before this migration are sealed by the service's backfills before it serves (kit
-- BackfillSealedColumns; src/lifecycle/sealed.hpp AttributesTable, EngagementsTable); each lists the tenants with such
-- rows in a maintenance transaction (SELECT only; leads has that policy since 0001).
CREATE POLICY maintenance_select ON lead_engagements FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');

-- The rows each backfill still has to seal (its SealedTable::unsealed). Empty once every row is sealed.
CREATE INDEX lead_engagements_unsealed ON lead_engagements (tenant_id) WHERE detail <> '' AND detail NOT LIKE 'pv1.%';
CREATE INDEX leads_attributes_unsealed ON leads (tenant_id)
    WHERE jsonb_path_exists(attributes, '$.* ? (@ != "" && !(@ starts with "pv1."))');
