-- Least-privilege roles for pgtrail. Run as a superuser on the source and on the destination
-- BEFORE db_setup (db_setup grants to these roles when they exist; run it again after
-- creating them later). Idempotent.
--
--   pgtrail_producer (source): reads cdc.log and cdc.captured_tables, deletes published log
--     rows, updates cdc.producer_position. No access to the captured tables themselves.
--   pgtrail_consumer (destination): reads and writes the replicated tables and cdc.*
--     bookkeeping; creates its temporary staging table (TEMPORARY, granted to PUBLIC by default).
--
-- db_setup itself needs a role that may create schemas, tables, functions and triggers on
-- both sides: the owner of the captured tables (with CREATE on both databases), or a
-- superuser. Prefer the owner: the capture trigger (SECURITY DEFINER) runs with the rights of
-- the role that ran db_setup. db_verify needs SELECT on the captured tables on both sides;
-- with --repair, on the source also USAGE on schema cdc, SELECT on cdc.captured_tables,
-- INSERT on cdc.log and UPDATE on the repaired tables (the SHARE lock it takes needs it).
--
-- The roles cannot log in; give each program its own login role, e.g.:
--   CREATE ROLE trail_producer LOGIN PASSWORD '...' IN ROLE pgtrail_producer;
--   CREATE ROLE trail_consumer LOGIN PASSWORD '...' IN ROLE pgtrail_consumer;

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgtrail_producer') THEN
        CREATE ROLE pgtrail_producer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgtrail_consumer') THEN
        CREATE ROLE pgtrail_consumer NOLOGIN;
    END IF;
END
$roles$;
