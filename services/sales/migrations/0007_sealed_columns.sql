-- Encryption at rest of the sales service's personal columns (issue 15; README "Personal data at rest",
-- docs/privacy.md). activities.subject, activities.description, activities.outcome and opportunities.description hold
-- "pv1." values sealed under the data key of their record (crm_subject_keys, subject = the activity's or the
-- opportunity's id: the key that seals the record's events). No statement of the service computes on them (no search,
-- sort or filter by their text), so no blind index is needed. The markers that replace the subject of an erased or
-- anonymised activity ("(erased on request)", "(removed by retention)") stay clear: they are not personal. Rows
-- written before this migration are sealed by the service's backfill (kit BackfillSealedColumns, src/sealed.hpp)
-- after migrations, before serving.

-- The rows the backfill still has to seal (its SealedTable::unsealed): a personal column with a clear value. Empty once
-- every row is sealed, so it costs nothing afterwards.
CREATE INDEX activities_unsealed ON activities (tenant_id)
    WHERE (subject NOT LIKE 'pv1.%' AND subject NOT IN ('(erased on request)', '(removed by retention)'))
       OR (description <> '' AND description NOT LIKE 'pv1.%') OR (outcome <> '' AND outcome NOT LIKE 'pv1.%');
CREATE INDEX opportunities_unsealed ON opportunities (tenant_id)
    WHERE description <> '' AND description NOT LIKE 'pv1.%';

-- The backfill lists the tenants with such rows in a maintenance transaction (crm.maintenance = 'on', SELECT only),
-- then seals each tenant's rows in a transaction of that tenant.
CREATE POLICY maintenance_select ON activities FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON opportunities FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
