#include "crm/common/migrate.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "crm/common/crypto.hpp"
#include "crm/common/log.hpp"

namespace crm::common {
namespace {

// Tables every service has. The outbox is written by request transactions (tenant-scoped by RLS) and read and
// marked by the relay, which sets crm.relay = 'on' in its own transactions.
const MigrationFile kCommonMigrations[] = {
    {"crm_0001_outbox", R"SQL(
CREATE TABLE crm_outbox (
    id                bigserial PRIMARY KEY,
    event_id          uuid NOT NULL UNIQUE,
    tenant_id         text NOT NULL,
    topic             text NOT NULL,
    aggregate_type    text NOT NULL,
    aggregate_id      text NOT NULL,
    aggregate_version bigint NOT NULL,
    event_type        text NOT NULL,
    envelope          bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at      timestamptz
);
CREATE INDEX crm_outbox_unpublished ON crm_outbox (id) WHERE published_at IS NULL;
CREATE INDEX crm_outbox_published_at ON crm_outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX crm_outbox_tenant_aggregate ON crm_outbox (tenant_id, aggregate_id, id);
ALTER TABLE crm_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_insert ON crm_outbox FOR INSERT
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE POLICY tenant_or_relay_select ON crm_outbox FOR SELECT
    USING (tenant_id = current_setting('crm.tenant_id', true) OR current_setting('crm.relay', true) = 'on');
CREATE POLICY relay_update ON crm_outbox FOR UPDATE
    USING (current_setting('crm.relay', true) = 'on') WITH CHECK (current_setting('crm.relay', true) = 'on');
CREATE POLICY relay_delete ON crm_outbox FOR DELETE
    USING (current_setting('crm.relay', true) = 'on');
)SQL"},
    // Events a consumer has applied (consumer.hpp): the row is inserted in the transaction of the effect, so a
    // redelivered event finds it and is skipped. Tenant-scoped like the outbox; the hourly cleanup of old rows sets
    // crm.maintenance = 'on' in its own transaction.
    {"crm_0002_processed_events", R"SQL(
CREATE TABLE crm_processed_events (
    consumer        text NOT NULL,
    event_id        uuid NOT NULL,
    tenant_id       text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    processed_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX crm_processed_events_age ON crm_processed_events (consumer, processed_at);
ALTER TABLE crm_processed_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_processed_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON crm_processed_events
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE POLICY maintenance_select ON crm_processed_events FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_delete ON crm_processed_events FOR DELETE
    USING (current_setting('crm.maintenance', true) = 'on');
)SQL"},
    // Idempotency claims of creates (idempotency.hpp): one table per database, the same in every service.
    {"crm_0003_idempotency_keys", R"SQL(
CREATE TABLE idempotency_keys (
    tenant_id   text        NOT NULL,
    operation   text        NOT NULL,  -- "CreateContact", "MergeContacts", ...
    request_id  text        NOT NULL CHECK (request_id <> ''),
    resource_id uuid        NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, operation, request_id)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (create_time);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE POLICY maintenance_select ON idempotency_keys FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_delete ON idempotency_keys FOR DELETE
    USING (current_setting('crm.maintenance', true) = 'on');
)SQL"},
    // Per-database settings. Every database of the suite serves short OLTP statements. PostgreSQL's JIT compiler
    // kicks in when a plan's estimated cost passes jit_above_cost, which search, duplicate and list queries do on large
    // tenants even though they touch few rows, and then costs 0.5 to 2 seconds of compilation per statement
    // (measured: prefix search 1.9 s with JIT, 6 ms without, on 100,000 contacts). Db also turns it off per
    // transaction; this covers every other session (psql, pgbench, maintenance). Only the database owner may do
    // this; when the migration role is not the owner the setting stays as the server has it.
    {"crm_0004_database_settings", R"SQL(
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit left as configured: the migration role does not own database %', current_database();
END
$$;
)SQL"},
    // The audit trail (audit.hpp): append-only for everyone (a trigger refuses UPDATE, DELETE and TRUNCATE, the owner
    // included unless the trigger is dropped), each tenant's rows in kAuditChains hash chains (a row holds the hash of
    // the previous row of its chain), appended by crm_audit_append in the writing transaction.
    {"crm_0005_audit", R"SQL(
CREATE TABLE crm_audit (
    tenant_id     text        NOT NULL,
    chain         smallint    NOT NULL CHECK (chain >= 0 AND chain < 64),
    seq           bigint      NOT NULL CHECK (seq >= 1),
    occurred_us   bigint      NOT NULL,
    actor_user    text        NOT NULL,
    actor_key     text        NOT NULL,
    actor_roles   text[]      NOT NULL,
    request_id    text        NOT NULL,
    rpc           text        NOT NULL,
    resource_type text        NOT NULL,
    resource_id   text        NOT NULL,
    outcome       text        NOT NULL,
    changed_paths text[]      NOT NULL,
    prev_hash     bytea       NOT NULL,
    row_hash      bytea       NOT NULL,
    PRIMARY KEY (tenant_id, chain, seq)
);
CREATE INDEX crm_audit_resource ON crm_audit (tenant_id, resource_type, resource_id, occurred_us);
CREATE INDEX crm_audit_actor ON crm_audit (tenant_id, actor_user, occurred_us);
CREATE INDEX crm_audit_time ON crm_audit (tenant_id, occurred_us);
ALTER TABLE crm_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_select ON crm_audit FOR SELECT USING (tenant_id = current_setting('crm.tenant_id', true));
CREATE POLICY tenant_insert ON crm_audit FOR INSERT WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE FUNCTION crm_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'crm_audit is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER crm_audit_no_update BEFORE UPDATE OR DELETE ON crm_audit
    FOR EACH ROW EXECUTE FUNCTION crm_audit_refuse_change();
CREATE TRIGGER crm_audit_no_truncate BEFORE TRUNCATE ON crm_audit
    FOR EACH STATEMENT EXECUTE FUNCTION crm_audit_refuse_change();
-- Length-framed fields, so that no two different rows share a payload. The verifier (VerifyAuditChain) computes the
-- same bytes on its own.
CREATE FUNCTION crm_audit_frame(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
    $$ SELECT octet_length(t)::text || ':' || t $$;
CREATE FUNCTION crm_audit_frame_all(a text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT crm_audit_frame(coalesce(
        (SELECT string_agg(crm_audit_frame(x), '' ORDER BY o) FROM unnest(a) WITH ORDINALITY AS u(x, o)), ''))
$$;
CREATE FUNCTION crm_audit_append(p_tenant text, p_chain smallint, p_occurred_us bigint, p_user text, p_key text,
                                 p_roles text[], p_request text, p_rpc text, p_type text, p_id text, p_outcome text,
                                 p_paths text[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_prev bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('crm_audit'), hashtext(p_tenant || ':' || p_chain));
    SELECT seq, row_hash INTO v_seq, v_prev FROM crm_audit
        WHERE tenant_id = p_tenant AND chain = p_chain ORDER BY seq DESC LIMIT 1;
    v_seq := coalesce(v_seq, 0) + 1;
    v_prev := coalesce(v_prev, decode(repeat('00', 32), 'hex'));
    INSERT INTO crm_audit VALUES (p_tenant, p_chain, v_seq, p_occurred_us, p_user, p_key, p_roles, p_request, p_rpc,
        p_type, p_id, p_outcome, p_paths, v_prev,
        sha256(v_prev || convert_to(crm_audit_frame(p_tenant) || crm_audit_frame(p_chain::text) ||
            crm_audit_frame(v_seq::text) || crm_audit_frame(p_occurred_us::text) || crm_audit_frame(p_user) ||
            crm_audit_frame(p_key) || crm_audit_frame_all(p_roles) || crm_audit_frame(p_request) ||
            crm_audit_frame(p_rpc) || crm_audit_frame(p_type) || crm_audit_frame(p_id) || crm_audit_frame(p_outcome) ||
            crm_audit_frame_all(p_paths), 'UTF8')));
    RETURN v_seq;
END
$$;
)SQL"},
    // ListAuditEvents reads newest first by (occurred_us, chain, seq): one index gives that order and the keyset.
    // A chain's tail stays locked until the writing transaction ends, and every write of every service now appends:
    // a writer takes the first free chain from the one its request id hashes to (blocking only when all 8 are taken),
    // so that two transactions of a tenant wait on each other's chain (and could deadlock with the row locks they
    // hold) only when the tenant has 8 writes in flight at once. A transaction that holds a chain gets it again.
    {"crm_0006_audit_order", R"SQL(
DROP INDEX crm_audit_time;
CREATE INDEX crm_audit_order ON crm_audit (tenant_id, occurred_us, chain, seq);
CREATE OR REPLACE FUNCTION crm_audit_append(p_tenant text, p_chain smallint, p_occurred_us bigint, p_user text,
                                            p_key text, p_roles text[], p_request text, p_rpc text, p_type text,
                                            p_id text, p_outcome text, p_paths text[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_chain smallint;
    v_seq bigint;
    v_prev bytea;
BEGIN
    FOR i IN 0..7 LOOP
        IF pg_try_advisory_xact_lock(hashtext('crm_audit'), hashtext(p_tenant || ':' || ((p_chain + i) % 8))) THEN
            v_chain := (p_chain + i) % 8;
            EXIT;
        END IF;
    END LOOP;
    IF v_chain IS NULL THEN
        v_chain := p_chain;
        PERFORM pg_advisory_xact_lock(hashtext('crm_audit'), hashtext(p_tenant || ':' || p_chain));
    END IF;
    SELECT seq, row_hash INTO v_seq, v_prev FROM crm_audit
        WHERE tenant_id = p_tenant AND chain = v_chain ORDER BY seq DESC LIMIT 1;
    v_seq := coalesce(v_seq, 0) + 1;
    v_prev := coalesce(v_prev, decode(repeat('00', 32), 'hex'));
    INSERT INTO crm_audit VALUES (p_tenant, v_chain, v_seq, p_occurred_us, p_user, p_key, p_roles, p_request, p_rpc,
        p_type, p_id, p_outcome, p_paths, v_prev,
        sha256(v_prev || convert_to(crm_audit_frame(p_tenant) || crm_audit_frame(v_chain::text) ||
            crm_audit_frame(v_seq::text) || crm_audit_frame(p_occurred_us::text) || crm_audit_frame(p_user) ||
            crm_audit_frame(p_key) || crm_audit_frame_all(p_roles) || crm_audit_frame(p_request) ||
            crm_audit_frame(p_rpc) || crm_audit_frame(p_type) || crm_audit_frame(p_id) || crm_audit_frame(p_outcome) ||
            crm_audit_frame_all(p_paths), 'UTF8')));
    RETURN v_seq;
END
$$;
)SQL"},
    // Retention policies and their runs (retention.hpp), and the per-tenant age indexes the kit's own rules read.
    {"crm_0007_retention", R"SQL(
CREATE TABLE crm_retention_policies (
    tenant_id     text        NOT NULL,
    rule          text        NOT NULL,
    max_age_days  integer     NOT NULL CHECK (max_age_days > 0),
    action        text        NOT NULL CHECK (action IN ('DELETE', 'ANONYMISE')),
    enabled       boolean     NOT NULL,
    update_time   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_run_time timestamptz,
    PRIMARY KEY (tenant_id, rule)
);
CREATE INDEX crm_retention_policies_due ON crm_retention_policies (last_run_time NULLS FIRST) WHERE enabled;
ALTER TABLE crm_retention_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_retention_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON crm_retention_policies
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE POLICY maintenance_select ON crm_retention_policies FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE TABLE crm_retention_runs (
    tenant_id    text        NOT NULL,
    id           uuid        NOT NULL,
    request_id   text        NOT NULL DEFAULT '',
    rule         text        NOT NULL,
    action       text        NOT NULL CHECK (action IN ('DELETE', 'ANONYMISE')),
    max_age_days integer     NOT NULL,
    cutoff       timestamptz NOT NULL,
    rows_touched bigint      NOT NULL CHECK (rows_touched >= 0),
    dry_run      boolean     NOT NULL,
    trigger      text        NOT NULL CHECK (trigger IN ('rpc', 'schedule')),
    start_time   timestamptz NOT NULL,
    end_time     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX crm_retention_runs_list ON crm_retention_runs (tenant_id, start_time, id);
CREATE INDEX crm_retention_runs_request ON crm_retention_runs (tenant_id, request_id) WHERE request_id <> '';
ALTER TABLE crm_retention_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_retention_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON crm_retention_runs
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE INDEX idempotency_keys_tenant_age ON idempotency_keys (tenant_id, create_time);
CREATE INDEX crm_processed_events_tenant_age ON crm_processed_events (tenant_id, processed_at);
)SQL"},
    // Data-subject erasures (subject_data.hpp): each request's answer, so that a repeated call returns the counts of
    // the first. Holds counts only.
    {"crm_0008_subject_erasures", R"SQL(
CREATE TABLE crm_subject_erasures (
    tenant_id  text        NOT NULL,
    request_id text        NOT NULL CHECK (request_id <> ''),
    result     bytea       NOT NULL,
    erase_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, request_id)
);
ALTER TABLE crm_subject_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_subject_erasures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON crm_subject_erasures
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
)SQL"},
    // An erasure deletes its tenant's relayed outbox rows about the person (subject_data.hpp); a row not yet relayed
    // can never be deleted this way: the database refuses what would lose an event.
    {"crm_0009_outbox_erasure", R"SQL(
CREATE POLICY tenant_delete_relayed ON crm_outbox FOR DELETE
    USING (tenant_id = current_setting('crm.tenant_id', true) AND published_at IS NOT NULL);
)SQL"},
    // Crypto-shredding (personal_fields.hpp): each subject's data key, wrapped under the tenant's key-encryption key
    // of master key version kek_version. Deleting a row makes every field sealed under it unreadable. The rewrap job
    // (after a master key rotation) reads and updates across tenants in its own maintenance transactions.
    {"crm_0010_subject_keys", R"SQL(
CREATE TABLE crm_subject_keys (
    tenant_id   text        NOT NULL,
    subject_id  text        NOT NULL CHECK (subject_id <> ''),
    kek_version integer     NOT NULL CHECK (kek_version > 0),
    wrapped_key bytea       NOT NULL CHECK (length(wrapped_key) = 60),
    create_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, subject_id)
);
CREATE INDEX crm_subject_keys_version ON crm_subject_keys (kek_version, tenant_id, subject_id);
ALTER TABLE crm_subject_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_subject_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON crm_subject_keys
    USING (tenant_id = current_setting('crm.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('crm.tenant_id', true));
CREATE POLICY maintenance_select ON crm_subject_keys FOR SELECT
    USING (current_setting('crm.maintenance', true) = 'on');
CREATE POLICY maintenance_update ON crm_subject_keys FOR UPDATE
    USING (current_setting('crm.maintenance', true) = 'on')
    WITH CHECK (current_setting('crm.maintenance', true) = 'on');
)SQL"},
};

std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read migration " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace

std::vector<MigrationFile> LoadMigrationFiles(const std::string& dir) {
    namespace fs = std::filesystem;
    if (dir.empty() || !fs::is_directory(dir)) throw std::runtime_error("migrations folder not found: " + dir);
    static const std::regex kName(R"(^[0-9]{4}_[a-z0-9_]+\.sql$)");
    std::vector<MigrationFile> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        if (name.size() < 4 || name.substr(name.size() - 4) != ".sql") continue;
        if (!std::regex_match(name, kName)) {
            throw std::runtime_error("migration file name must look like 0001_create_things.sql: " + name);
        }
        files.push_back({name.substr(0, name.size() - 4), ReadFile(entry.path())});
    }
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    for (size_t i = 1; i < files.size(); ++i) {
        if (files[i].version.substr(0, 4) == files[i - 1].version.substr(0, 4)) {
            throw std::runtime_error("two migrations share the number " + files[i].version.substr(0, 4));
        }
    }
    return files;
}

std::vector<std::string> RunMigrations(const MigrationSettings& settings) {
    std::vector<MigrationFile> all(std::begin(kCommonMigrations), std::end(kCommonMigrations));
    for (auto& f : LoadMigrationFiles(settings.dir)) all.push_back(std::move(f));

    pqxx::connection conn(settings.admin_url);
    std::map<std::string, std::string> applied;
    {
        pqxx::nontransaction session(conn);
        // Session-level lock: released with the connection if this process dies half-way.
        session.exec("SELECT pg_advisory_lock(hashtext('crm-schema-migrations'))");
        session.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, checksum text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())");
        for (const auto& row : session.exec("SELECT version, checksum FROM schema_migrations")) {
            applied[row[0].as<std::string>()] = row[1].as<std::string>();
        }
    }

    std::vector<std::string> done;
    for (const auto& m : all) {
        const std::string checksum = HexEncode(Sha256(m.sql));
        auto it = applied.find(m.version);
        if (it != applied.end()) {
            if (it->second != checksum) {
                throw std::runtime_error("migration " + m.version +
                                         " was changed after it was applied; add a new migration instead");
            }
            continue;
        }
        pqxx::work tx(conn);
        try {
            tx.exec(m.sql);
        } catch (const pqxx::sql_error& e) {
            throw std::runtime_error("migration " + m.version + " failed: " + e.what());
        }
        tx.exec_params("INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", m.version, checksum);
        tx.commit();
        log::Info("migration applied", {{"version", m.version}});
        done.push_back(m.version);
    }

    if (!settings.app_url.empty()) {
        pqxx::connection app(settings.app_url);
        const std::string app_role = pqxx::nontransaction(app).exec1("SELECT current_user")[0].as<std::string>();
        const std::string owner = pqxx::nontransaction(conn).exec1("SELECT current_user")[0].as<std::string>();
        if (app_role != owner) {
            pqxx::work tx(conn);
            const std::string role = tx.quote_name(app_role);
            tx.exec("GRANT USAGE ON SCHEMA public TO " + role);
            tx.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role);
            tx.exec("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role);
            // Functions a migration revoked from PUBLIC (e.g. a SECURITY DEFINER lookup) are for the application role.
            tx.exec("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO " + role);
            tx.exec("REVOKE ALL ON schema_migrations FROM " + role);
            // The audit trail is append-only for the application (audit.hpp): it may read and add rows, nothing else.
            tx.exec("REVOKE UPDATE, DELETE, TRUNCATE ON crm_audit FROM " + role);
            tx.commit();
        } else {
            log::Warn(
                "the application role owns the schema: row-level security is not enforced for the owner "
                "unless FORCE ROW LEVEL SECURITY is set on every table");
        }
    }
    pqxx::nontransaction(conn).exec("SELECT pg_advisory_unlock(hashtext('crm-schema-migrations'))");
    return done;
}

}  // namespace crm::common
