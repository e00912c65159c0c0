-- Installed on the source by db_setup after capture.sql, only when db_setup's role is a
-- superuser (PostgreSQL lets nobody else create event triggers). Idempotent.
--
-- A column change of a captured table is written into cdc.log as one row with op 's', in the
-- ALTER's own transaction, so the producer publishes it in seq order ahead of every change
-- that carries the new shape (docs/design.md "Schema changes").

-- The columns each captured table had after the last ALTER (or db_setup): the event trigger
-- tells what an ALTER did by comparing them, by attnum, with the catalog afterwards. The
-- table's relfilenode tells whether the ALTER rewrote it.
CREATE TABLE IF NOT EXISTS cdc.captured_columns (
    relid       oid NOT NULL,
    attnum      smallint NOT NULL,
    column_name text NOT NULL,
    column_type text NOT NULL,
    relfilenode oid NOT NULL,
    PRIMARY KEY (relid, attnum)
);

-- The catalog's view of a captured table's columns now. Its search_path is pinned like the
-- event trigger's, so format_type qualifies every type outside pg_catalog.
CREATE OR REPLACE FUNCTION cdc.record_captured_columns(table_oid oid) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $fn$
    DELETE FROM cdc.captured_columns WHERE relid OPERATOR(pg_catalog.=) table_oid;
    INSERT INTO cdc.captured_columns (relid, attnum, column_name, column_type, relfilenode)
    SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
           c.relfilenode
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
    WHERE a.attrelid OPERATOR(pg_catalog.=) table_oid
      AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped;
$fn$;

-- Runs at the end of every ALTER TABLE in the database, as the role that altered the table,
-- so it is SECURITY DEFINER (that role needs no privilege on schema cdc) with everything pinned
-- as in cdc.capture_row(): the search path (every name below is qualified, operators too) and
-- the settings that change how values print, because the value rows from before an ADD
-- COLUMN ... DEFAULT read (pg_attribute.attmissingval) travels as JSON and text made here.
-- Tables pgtrail does not capture cost one join with the registry.
--
-- The log row's `after` is an object keyed by attnum, one member per changed column:
--   {"action":"add","column":..,"type":..,"not_null":..,"missing":<json>,"missing_text":..}
--     (missing, missing_text: the value existing rows read, when the default is not volatile)
--   {"action":"add_rewritten","column":..,"type":..,"default":<expression>}
--     (a default evaluated per row, e.g. random(): the table was rewritten without triggers;
--     also a missing value that does not read back as JSON)
--   {"action":"drop","column":..}
--   {"action":"rename","column":<old name>,"to":<new name>}
--   {"action":"retype","column":..,"from":..,"type":..}
CREATE OR REPLACE FUNCTION cdc.capture_schema_change() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 3
SET DateStyle = 'ISO, MDY'
SET IntervalStyle = postgres
SET TimeZone = 'UTC'
SET bytea_output = hex
SET lc_monetary = 'C'
AS $fn$
DECLARE
    altered   oid;
    rewritten boolean;
    changes   pg_catalog.json;
BEGIN
    FOR altered IN
        SELECT DISTINCT d.objid
        FROM pg_catalog.pg_event_trigger_ddl_commands() d
        JOIN cdc.captured_tables t ON t.relid OPERATOR(pg_catalog.=) d.objid
        WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    LOOP
        rewritten := EXISTS (
            SELECT 1 FROM cdc.captured_columns o
            JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) o.relid
            WHERE o.relid OPERATOR(pg_catalog.=) altered
              AND o.relfilenode OPERATOR(pg_catalog.<>) c.relfilenode);
        SELECT pg_catalog.json_object_agg(x.attnum, x.change ORDER BY x.attnum) INTO changes
        FROM (
            SELECT coalesce(n.attnum, o.attnum) AS attnum,
                   CASE
                   WHEN o.attnum IS NULL AND n.atthasmissing AND n.missing IS NOT NULL THEN
                       pg_catalog.json_build_object(
                           'action', 'add', 'column', n.attname, 'type', n.column_type,
                           'not_null', n.attnotnull, 'missing', n.missing, 'missing_text',
                           n.missing_text)
                   WHEN o.attnum IS NULL AND n.column_default IS NOT NULL
                        AND (rewritten OR n.atthasmissing) THEN
                       pg_catalog.json_build_object(
                           'action', 'add_rewritten', 'column', n.attname, 'type',
                           n.column_type, 'default', n.column_default)
                   WHEN o.attnum IS NULL THEN
                       pg_catalog.json_build_object(
                           'action', 'add', 'column', n.attname, 'type', n.column_type,
                           'not_null', n.attnotnull)
                   WHEN n.attnum IS NULL THEN
                       pg_catalog.json_build_object('action', 'drop', 'column', o.column_name)
                   WHEN n.attname OPERATOR(pg_catalog.<>) o.column_name THEN
                       pg_catalog.json_build_object(
                           'action', 'rename', 'column', o.column_name, 'to', n.attname)
                   WHEN n.column_type OPERATOR(pg_catalog.<>) o.column_type THEN
                       pg_catalog.json_build_object(
                           'action', 'retype', 'column', n.attname, 'from', o.column_type,
                           'type', n.column_type)
                   END AS change
            FROM (SELECT * FROM cdc.captured_columns
                  WHERE relid OPERATOR(pg_catalog.=) altered) o
            FULL JOIN (
                SELECT a.attnum, a.attname::pg_catalog.text AS attname, a.attnotnull,
                       a.atthasmissing,
                       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
                       pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS column_default,
                       cdc.missing_value_json(a.attmissingval::pg_catalog.text,
                                              a.atttypid, a.atttypmod) AS missing,
                       cdc.missing_value_text(a.attmissingval::pg_catalog.text)
                           AS missing_text
                FROM pg_catalog.pg_attribute a
                LEFT JOIN pg_catalog.pg_attrdef def
                       ON def.adrelid OPERATOR(pg_catalog.=) a.attrelid
                      AND def.adnum OPERATOR(pg_catalog.=) a.attnum
                WHERE a.attrelid OPERATOR(pg_catalog.=) altered
                  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) n
              ON n.attnum OPERATOR(pg_catalog.=) o.attnum
        ) x
        WHERE x.change IS NOT NULL;
        IF changes IS NOT NULL THEN
            INSERT INTO cdc.log (relid, op, after) VALUES (altered, 's', changes);
        END IF;
        PERFORM cdc.record_captured_columns(altered);
    END LOOP;
END
$fn$;

-- attmissingval is an anyarray of one element, readable only as text: that element's text
-- form (the column type's output), or NULL when there is no missing value.
CREATE OR REPLACE FUNCTION cdc.missing_value_text(missing text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT (missing::pg_catalog.text[])[1];
$fn$;

-- The missing value as JSON, the way row_to_json writes the column: its text read back as the
-- column's type. The type name enters the statement only through format_type, which quotes
-- and qualifies it; the value is a parameter. A value that does not read back gives NULL
-- (the ALTER must never fail for pgtrail's sake); the consumer then holds the table.
CREATE OR REPLACE FUNCTION cdc.missing_value_json(missing text, type_oid oid, typmod integer)
RETURNS pg_catalog.json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    result pg_catalog.json;
BEGIN
    IF missing IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.to_json($1::%s)',
                              pg_catalog.format_type(type_oid, typmod))
        INTO result USING cdc.missing_value_text(missing);
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$fn$;

REVOKE ALL ON FUNCTION cdc.record_captured_columns(oid) FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc.capture_schema_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc.missing_value_json(text, oid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION cdc.missing_value_text(text) FROM PUBLIC;

DROP EVENT TRIGGER IF EXISTS pgtrail_schema_change;
CREATE EVENT TRIGGER pgtrail_schema_change ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION cdc.capture_schema_change();
