-- Installed on the source by db_setup. Idempotent: every statement may run again.

CREATE SCHEMA IF NOT EXISTS cdc;

-- One row per captured change. The producer publishes rows in snapshot batches and prunes
-- what it has published, so this table holds only the changes still on their way.
CREATE TABLE IF NOT EXISTS cdc.log (
    seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid   xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- clock_timestamp(), not now(): now() is the transaction start and can go backwards
    -- for the same row when a later transaction started earlier.
    ts     timestamptz NOT NULL DEFAULT clock_timestamp(),
    relid  oid NOT NULL,
    op     "char" NOT NULL,          -- c insert, u update, d delete, r snapshot read
    before json,
    after  json
);
CREATE INDEX IF NOT EXISTS log_txid ON cdc.log (txid);

-- cdc.log is a queue: every row is inserted once and deleted soon after (producer/
-- log_pruner.cpp), so its live size stays near zero while its dead rows grow with the change
-- rate. PostgreSQL's defaults vacuum a table once its dead rows exceed 20% of its estimated
-- size, an estimate that is stale and large right after a big batch, so dead rows (and the
-- index entries every page read of the producer walks past) could pile up for long. A fixed
-- threshold vacuums after every few thousand pruned rows whatever the table's size, without
-- throttling (vacuuming a small table is cheap), and analyzes at the same pace so the
-- planner's picture of the table follows its churn. The producer's position row is updated
-- once per batch; those updates are HOT and page pruning keeps that one-row table on a page.
ALTER TABLE cdc.log SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 20000
);

-- Which tables are captured and their primary-key columns, so the trigger never has to
-- look up the key: the producer derives it from the row.
CREATE TABLE IF NOT EXISTS cdc.captured_tables (
    relid       oid PRIMARY KEY,
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    pk_columns  text[] NOT NULL,
    UNIQUE (schema_name, table_name)
);

-- The producer's position: the transaction snapshot up to which the log is published.
-- NULL means "from the beginning of the log".
CREATE TABLE IF NOT EXISTS cdc.producer_position (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    snapshot   pg_snapshot,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO cdc.producer_position (singleton) VALUES (true) ON CONFLICT DO NOTHING;

-- Runs on every user write, so it does exactly one INSERT: no catalog lookups, no key
-- building. row_to_json keeps json columns byte-exact and is cheaper than to_jsonb.
--
-- SECURITY DEFINER, so the application's roles need no privilege on schema cdc. It runs with
-- the rights of the role that ran db_setup inside any writer's session, so nothing it does may
-- depend on that session:
-- * Its search_path is pinned to pg_catalog, then pg_temp (listed last so that it cannot be
--   searched first). With the writer's path, a function or operator in a schema the writer may
--   create objects in would be chosen over the built-in one whenever its argument types match
--   better (row_to_json(the_table) beats row_to_json(record)) or its schema is listed before
--   pg_catalog, and it would run with the definer's rights. With the pinned path every
--   unqualified name in the body resolves in pg_catalog; pgtrail's own are qualified (cdc.).
-- * The settings that change how values print are pinned, so the captured text is the same
--   whatever the writer set: floats in their shortest exact form, interval and date styles,
--   the time zone (timestamps carry their offset), bytea as hex, and money in the C locale
--   (README "Security" says how money reads back).
-- The SET clauses cost about 4 µs of CPU per captured row (README "Benchmarks").
CREATE OR REPLACE FUNCTION cdc.capture_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 3
SET DateStyle = 'ISO, MDY'
SET IntervalStyle = postgres
SET TimeZone = 'UTC'
SET bytea_output = hex
SET lc_monetary = 'C'
AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO cdc.log (relid, op, after) VALUES (TG_RELID, 'c', row_to_json(NEW));
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO cdc.log (relid, op, before, after)
        VALUES (TG_RELID, 'u', row_to_json(OLD), row_to_json(NEW));
    ELSE
        INSERT INTO cdc.log (relid, op, before) VALUES (TG_RELID, 'd', row_to_json(OLD));
    END IF;
    RETURN NULL;
END
$fn$;

-- No NOTIFY here: a transaction that notifies takes a database-wide lock it holds through
-- its commit, so notifying writers commit one at a time and lose group commit. The producer
-- polls a cheap probe instead (producer/change_probe.cpp). Installations from before drop it.
DROP FUNCTION IF EXISTS cdc.notify_producer() CASCADE;

-- TRUNCATE fires no row triggers; letting it through would silently desync the destination.
-- It runs with the truncating role's rights; its path is pinned all the same, as on every
-- function pgtrail installs.
CREATE OR REPLACE FUNCTION cdc.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION 'pgtrail: TRUNCATE of captured table %.% is refused: it would not be replicated; use DELETE, or remove capture first (db_setup --uninstall)',
        TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'feature_not_supported';
END
$fn$;

-- A trigger function needs no EXECUTE privilege of the roles whose writes fire it: PostgreSQL
-- checks EXECUTE only when a trigger is created (by db_setup, the owner). Nobody else may call
-- the functions or attach them to another table.
REVOKE ALL ON FUNCTION cdc.capture_row() FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc.refuse_truncate() FROM PUBLIC;

-- When sql/roles.sql created the producer's role, give it exactly what the producer uses:
-- read the log and the registry, delete what it published, move its position.
DO $grant$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgtrail_producer') THEN
        GRANT USAGE ON SCHEMA cdc TO pgtrail_producer;
        GRANT SELECT, DELETE ON cdc.log TO pgtrail_producer;
        GRANT SELECT ON cdc.captured_tables TO pgtrail_producer;
        GRANT SELECT, UPDATE ON cdc.producer_position TO pgtrail_producer;
    END IF;
END
$grant$;
