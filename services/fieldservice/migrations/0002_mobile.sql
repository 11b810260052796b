-- Live locations of technicians and the offline-first mobile sync.
--
-- technician_locations: the last known position of each technician (one row), written by ReportLocation. Reports are
-- rate-limited by the server's receive time (the row is locked by the upsert, so concurrent reports of one technician
-- queue and the second is refused). A report dated before the last known position (sent late) goes into the history
-- only. `reports` numbers the reports of a technician: the history keeps the newest N of them.
CREATE TABLE technician_locations (
    tenant_id       text        NOT NULL,
    technician_id   uuid        NOT NULL,
    location        geography(Point, 4326) NOT NULL,
    location_time   timestamptz NOT NULL,
    accuracy_meters double precision NOT NULL DEFAULT 0 CHECK (accuracy_meters >= 0),
    receive_time    timestamptz NOT NULL DEFAULT now(),
    reports         bigint      NOT NULL DEFAULT 1 CHECK (reports >= 1),
    PRIMARY KEY (tenant_id, technician_id),
    FOREIGN KEY (tenant_id, technician_id) REFERENCES technicians (tenant_id, id) ON DELETE CASCADE
);
-- Technicians nearest to a site by their live position (FindCandidates, technicians away from their home base).
CREATE INDEX technician_locations_where ON technician_locations USING gist (tenant_id, location);

CREATE TABLE technician_location_history (
    tenant_id       text        NOT NULL,
    technician_id   uuid        NOT NULL,
    seq             bigint      NOT NULL CHECK (seq >= 1),
    location        geography(Point, 4326) NOT NULL,
    location_time   timestamptz NOT NULL,
    accuracy_meters double precision NOT NULL DEFAULT 0,
    receive_time    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, technician_id, seq),
    FOREIGN KEY (tenant_id, technician_id) REFERENCES technicians (tenant_id, id) ON DELETE CASCADE
);

-- Mobile sync (SyncTechnicianDay). Every write of a work order (and of its part reservations) stamps the row with the
-- id of the writing transaction; a sync token holds the xmin of the snapshot the sync read (every transaction below
-- it had ended), so the next sync returns every row written by a transaction at or above it: a transaction that
-- committed after a sync began is never missed (some rows may come twice; the device applies them idempotently).
ALTER TABLE work_orders ADD COLUMN sync_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE reservations ADD COLUMN sync_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX work_orders_technician_sync ON work_orders (tenant_id, technician_id, sync_xid)
    WHERE technician_id IS NOT NULL;
CREATE INDEX reservations_work_order_sync ON reservations (tenant_id, work_order_id, sync_xid);

-- A work order taken away from a technician (unassigned, or rescheduled to another): a tombstone for the technician's
-- device. Tombstones older than the sync tokens' lifetime are purged by the sync of that technician.
CREATE TABLE sync_tombstones (
    tenant_id     text        NOT NULL,
    technician_id uuid        NOT NULL,
    work_order_id uuid        NOT NULL,
    sync_xid      xid8        NOT NULL DEFAULT pg_current_xact_id(),
    create_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, technician_id, work_order_id, sync_xid)
);
CREATE INDEX sync_tombstones_since ON sync_tombstones (tenant_id, technician_id, sync_xid);
CREATE INDEX sync_tombstones_age ON sync_tombstones (tenant_id, technician_id, create_time);

CREATE FUNCTION fieldservice_stamp_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;

CREATE FUNCTION fieldservice_work_order_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.technician_id IS NOT NULL AND OLD.technician_id IS DISTINCT FROM NEW.technician_id THEN
        INSERT INTO sync_tombstones (tenant_id, technician_id, work_order_id)
        VALUES (OLD.tenant_id, OLD.technician_id, OLD.id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER work_orders_stamp_sync BEFORE UPDATE ON work_orders
    FOR EACH ROW EXECUTE FUNCTION fieldservice_stamp_sync();
CREATE TRIGGER reservations_stamp_sync BEFORE UPDATE ON reservations
    FOR EACH ROW EXECUTE FUNCTION fieldservice_stamp_sync();
CREATE TRIGGER work_orders_moved AFTER UPDATE OF technician_id ON work_orders
    FOR EACH ROW EXECUTE FUNCTION fieldservice_work_order_moved();

-- Offline operations already applied (or refused): the first result of each idempotency key of a technician, returned
-- again when the device sends the operation a second time.
CREATE TABLE sync_operations (
    tenant_id       text        NOT NULL,
    technician_id   uuid        NOT NULL,
    idempotency_key text        NOT NULL CHECK (idempotency_key <> ''),
    work_order_id   uuid        NOT NULL,
    -- crm.fieldservice.v1.SyncOperationResult, serialized.
    result          bytea       NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, technician_id, idempotency_key),
    FOREIGN KEY (tenant_id, technician_id) REFERENCES technicians (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_operations_age ON sync_operations (tenant_id, technician_id, create_time);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['technician_locations', 'technician_location_history', 'sync_tombstones',
                             'sync_operations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
