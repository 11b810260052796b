-- Data-subject requests (src/subject_data/): a person's work orders are found by their contact, directly or through
-- the support case the work order came from; then the appointments (every status) and the offline operations of those
-- work orders. One index probe per id.
CREATE INDEX work_orders_contact ON work_orders (tenant_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX support_cases_contact ON support_cases (tenant_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX appointments_of_work_order ON appointments (tenant_id, work_order_id);
CREATE INDEX sync_operations_work_order ON sync_operations (tenant_id, work_order_id);
