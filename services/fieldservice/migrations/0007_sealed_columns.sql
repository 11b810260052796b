-- Encryption at rest of field service's personal values (issue 15; README "Personal data at rest", docs/privacy.md).
-- work_orders.title, description, site_address and status_reason, the notes and checklist answers inside
-- work_orders.completion, work_order_history.reason and sync_operations.result (an offline operation's stored reply,
-- which carries the work order) hold "pv1." values sealed under the work order's data key (crm_subject_keys, subject =
-- the work order id: the key that seals its events). No statement computes on them (no search, sort or filter by their
-- text): scheduling, routes and the candidates' distances use the site's point (PostGIS geography), which stays clear.
-- The title of an erased work order, "(erased)", stays clear: it is not personal. Rows written before this migration
-- are sealed by the service's backfills (kit BackfillSealedColumns, src/sealed.hpp, and BackfillCompletions) after
-- migrations, before serving; stored offline replies are not (they are purged with the technician's sync tokens).

-- The rows the backfills still have to seal (their SealedTable::unsealed): a personal value in clear. Empty once every
-- row is sealed, so they cost nothing afterwards.
CREATE INDEX work_orders_unsealed ON work_orders (tenant_id)
    WHERE (title NOT LIKE 'pv1.%' AND title <> '(erased)') OR (description <> '' AND description NOT LIKE 'pv1.%')
       OR (status_reason <> '' AND status_reason NOT LIKE 'pv1.%');
-- The site address has its own: NULL (a work order from a case event, or erased) is not a value to seal.
CREATE INDEX work_orders_unsealed_site ON work_orders (tenant_id)
    WHERE site_address <> '' AND site_address NOT LIKE 'pv1.%';
CREATE INDEX work_orders_unsealed_completion ON work_orders (tenant_id)
    WHERE completion IS NOT NULL AND ((completion ->> 'notes' <> '' AND completion ->> 'notes' NOT LIKE 'pv1.%')
       OR jsonb_path_exists(completion, '$.checklistAnswers[*].answer ? (@ != "" && !(@ starts with "pv1."))'));
CREATE INDEX work_order_history_unsealed ON work_order_history (tenant_id)
    WHERE reason <> '' AND reason NOT LIKE 'pv1.%';

-- The backfills list the tenants with such rows in a maintenance transaction (crm.maintenance = 'on', SELECT only),
-- then seal each tenant's rows in a transaction of that tenant.
CREATE POLICY maintenance_select ON work_orders FOR SELECT USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_select ON work_order_history FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
