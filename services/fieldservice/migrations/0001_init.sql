-- Field-service schema: technicians and their skills, work orders with their status history, appointments (the
-- technicians' calendars), the parts catalogue, stock locations, stock levels and reservations.
--
-- Every table is tenant-scoped: tenant_id leads every key, and a FORCEd row-level security policy limits each
-- statement to the tenant the common runtime sets per transaction. No background job reads across tenants.
--
-- Extensions: PostGIS (geography points, KNN distance ordering on a GiST index) and btree_gist (scalar columns in
-- GiST indexes and exclusion constraints). Only a superuser may create them: the platform creates them in this
-- database when it provisions it (deploy/local/stack pg_provision; on Kubernetes the database bootstrap, see
-- k8s/base/fieldservice.yaml). This migration refuses to run without them instead of failing half-way.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'postgis')
       OR NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'btree_gist') THEN
        RAISE EXCEPTION 'the fieldservice database needs the extensions postgis and btree_gist, created by a superuser: '
                        'CREATE EXTENSION postgis; CREATE EXTENSION btree_gist;';
    END IF;
END
$$;

CREATE TABLE technicians (
    tenant_id       text        NOT NULL,
    id              uuid        NOT NULL,
    user_id         text        NOT NULL CHECK (user_id <> ''),
    display_name    text        NOT NULL CHECK (display_name <> ''),
    home            geography(Point, 4326) NOT NULL,
    territory       text        NOT NULL DEFAULT '',
    time_zone       text        NOT NULL,
    -- [{"weekday":1,"start_minute":480,"end_minute":1020}, ...] (checked by the service)
    working_hours   jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(working_hours) = 'array'),
    -- [{"start":<micros>,"end":<micros>,"reason":"..."}, ...]
    time_off        jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(time_off) = 'array'),
    van_location_id uuid,
    active          boolean     NOT NULL DEFAULT true,
    version         bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time     timestamptz NOT NULL DEFAULT now(),
    update_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_id)
);
CREATE INDEX technicians_tenant_create ON technicians (tenant_id, create_time, id);
CREATE INDEX technicians_tenant_territory ON technicians (tenant_id, territory, create_time, id);
-- Nearest technicians of a tenant: KNN (ORDER BY home <-> point) inside the tenant, tenant_id an index condition.
CREATE INDEX technicians_home ON technicians USING gist (tenant_id, home) WHERE active;

CREATE TABLE technician_skills (
    tenant_id     text        NOT NULL,
    technician_id uuid        NOT NULL,
    skill         text        NOT NULL CHECK (skill <> ''),
    level         integer     NOT NULL CHECK (level BETWEEN 1 AND 5),
    expire_time   timestamptz,
    PRIMARY KEY (tenant_id, technician_id, skill),
    FOREIGN KEY (tenant_id, technician_id) REFERENCES technicians (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE work_orders (
    tenant_id        text        NOT NULL,
    id               uuid        NOT NULL,
    case_id          uuid,
    contact_id       uuid,
    company_id       uuid,
    title            text        NOT NULL CHECK (title <> ''),
    description      text        NOT NULL DEFAULT '',
    site_address     text        NOT NULL CHECK (site_address <> ''),
    site             geography(Point, 4326) NOT NULL,
    asset_id         text        NOT NULL DEFAULT '',
    work_type        text        NOT NULL CHECK (work_type <> ''),
    duration_minutes integer     NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    -- [{"skill":"hvac","min_level":3}]
    required_skills  jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(required_skills) = 'array'),
    priority         text        NOT NULL DEFAULT 'NORMAL' CHECK (priority IN ('LOW', 'NORMAL', 'HIGH', 'URGENT')),
    -- [{"start":<micros>,"end":<micros>}]
    time_windows     jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(time_windows) = 'array'),
    checklist        jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(checklist) = 'array'),
    parts_needed     jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parts_needed) = 'array'),
    status           text        NOT NULL DEFAULT 'NEW'
                                 CHECK (status IN ('NEW', 'SCHEDULED', 'DISPATCHED', 'EN_ROUTE', 'ON_SITE', 'COMPLETED',
                                                   'CANNOT_COMPLETE', 'CANCELLED')),
    status_reason    text        NOT NULL DEFAULT '',
    technician_id    uuid,
    -- crm.fieldservice.v1.Completion as proto JSON, without the signature (stored below).
    completion       jsonb,
    signature        bytea       CHECK (octet_length(signature) <= 262144),
    version          bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX work_orders_tenant_create ON work_orders (tenant_id, create_time DESC, id DESC);
CREATE INDEX work_orders_tenant_status ON work_orders (tenant_id, status, create_time DESC, id DESC);
CREATE INDEX work_orders_tenant_technician ON work_orders (tenant_id, technician_id, create_time DESC, id DESC)
    WHERE technician_id IS NOT NULL;
CREATE INDEX work_orders_case ON work_orders (tenant_id, case_id) WHERE case_id IS NOT NULL;

CREATE TABLE work_order_history (
    tenant_id     text        NOT NULL,
    work_order_id uuid        NOT NULL,
    seq           integer     NOT NULL CHECK (seq >= 1),
    from_status   text        NOT NULL,
    to_status     text        NOT NULL,
    change_time   timestamptz NOT NULL,
    actor         text        NOT NULL DEFAULT '',
    reason        text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, work_order_id, seq),
    FOREIGN KEY (tenant_id, work_order_id) REFERENCES work_orders (tenant_id, id)
);

-- A technician's calendar. `block` is the interval the appointment takes on it: the travel from the previous stop
-- before the arrival, then the visit. Two booked appointments of one technician never overlap: the exclusion
-- constraint makes the database refuse the second of two racing bookings, whatever the application checked before.
CREATE TABLE appointments (
    tenant_id      text        NOT NULL,
    id             uuid        NOT NULL,
    work_order_id  uuid        NOT NULL,
    technician_id  uuid        NOT NULL,
    start_time     timestamptz NOT NULL,
    end_time       timestamptz NOT NULL,
    travel_minutes integer     NOT NULL DEFAULT 0 CHECK (travel_minutes >= 0),
    -- start_time - travel_minutes (written by the service; timestamptz arithmetic is not immutable).
    block_start    timestamptz NOT NULL,
    block          tstzrange   NOT NULL GENERATED ALWAYS AS (tstzrange(block_start, end_time, '[)')) STORED,
    site           geography(Point, 4326) NOT NULL,
    status         text        NOT NULL DEFAULT 'BOOKED' CHECK (status IN ('BOOKED', 'RELEASED', 'DONE')),
    create_time    timestamptz NOT NULL DEFAULT now(),
    release_time   timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, work_order_id) REFERENCES work_orders (tenant_id, id),
    FOREIGN KEY (tenant_id, technician_id) REFERENCES technicians (tenant_id, id),
    CHECK (end_time > start_time),
    CHECK (block_start = start_time - make_interval(mins => travel_minutes)),
    CONSTRAINT appointments_no_double_booking
        EXCLUDE USING gist (tenant_id WITH =, technician_id WITH =, block WITH &&) WHERE (status <> 'RELEASED')
);
-- One live booking per work order.
CREATE UNIQUE INDEX appointments_one_per_work_order ON appointments (tenant_id, work_order_id)
    WHERE status = 'BOOKED';

CREATE TABLE parts (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    sku         text        NOT NULL CHECK (sku <> ''),
    name        text        NOT NULL CHECK (name <> ''),
    product_id  uuid,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, sku)
);
CREATE INDEX parts_tenant_create ON parts (tenant_id, create_time, id);

CREATE TABLE stock_locations (
    tenant_id   text        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (name <> ''),
    kind        text        NOT NULL CHECK (kind IN ('WAREHOUSE', 'VAN')),
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX stock_locations_tenant_create ON stock_locations (tenant_id, create_time, id);

-- Stock never negative and never less than what is reserved: checked here as a last line, and by the statements,
-- which change a level with one UPDATE that locks its row (concurrent reservations wait for each other).
CREATE TABLE stock_levels (
    tenant_id     text   NOT NULL,
    location_id   uuid   NOT NULL,
    part_id       uuid   NOT NULL,
    on_hand       bigint NOT NULL DEFAULT 0,
    reserved      bigint NOT NULL DEFAULT 0,
    reorder_point bigint NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    version       bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, location_id, part_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES stock_locations (tenant_id, id),
    FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id),
    CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand)
);
CREATE INDEX stock_levels_part ON stock_levels (tenant_id, part_id, location_id);

CREATE TABLE reservations (
    tenant_id     text        NOT NULL,
    id            uuid        NOT NULL,
    work_order_id uuid        NOT NULL,
    location_id   uuid        NOT NULL,
    part_id       uuid        NOT NULL,
    quantity      bigint      NOT NULL CHECK (quantity > 0),
    status        text        NOT NULL DEFAULT 'HELD' CHECK (status IN ('HELD', 'RELEASED', 'CONSUMED')),
    create_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, work_order_id) REFERENCES work_orders (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id, part_id) REFERENCES stock_levels (tenant_id, location_id, part_id)
);
CREATE INDEX reservations_work_order ON reservations (tenant_id, work_order_id) WHERE status = 'HELD';

-- Row-level security on every table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['technicians', 'technician_skills', 'work_orders', 'work_order_history', 'appointments',
                             'parts', 'stock_locations', 'stock_levels', 'reservations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''crm.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''crm.tenant_id'', true))', t);
    END LOOP;
END
$$;
