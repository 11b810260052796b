-- This database serves short OLTP statements. PostgreSQL's JIT compiler kicks in when a plan's estimated cost passes
-- jit_above_cost, which the search, duplicate and list queries do on large tenants even though they touch few rows,
-- and then costs 0.5 to 2 seconds of compilation per statement (measured on contacts: prefix search 1.9 s with JIT, 6 ms
-- without, on 100,000 contacts). Turn it off for every new session of this database. Only the database owner may
-- do this; when the migration role is not the owner the setting stays as the server has it.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit left as configured: the migration role does not own database %', current_database();
END
$$;
