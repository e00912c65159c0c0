-- Installed on the destination by db_setup. Idempotent: every statement may run again.

CREATE SCHEMA IF NOT EXISTS cdc;

-- Kafka offsets, written in the same transaction as the changes they cover, so a batch is
-- applied exactly once in effect. next_offset is the first offset not yet applied.
CREATE TABLE IF NOT EXISTS cdc.consumer_offsets (
    group_id    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Which assignment owns a partition: each assignment raises the claim, and a batch stores
-- its offsets only under the claim it was read under, so a member that lost the partition
-- while it was paused commits nothing for it (consumer/offset_store.hpp).
CREATE TABLE IF NOT EXISTS cdc.consumer_claims (
    group_id   text NOT NULL,
    topic      text NOT NULL,
    partition  integer NOT NULL,
    claim      bigint NOT NULL,
    claimed_at timestamptz NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);

-- A deleted row's key and the position of its delete, so that an older insert or update
-- delivered again later cannot bring the row back.
CREATE TABLE IF NOT EXISTS cdc.tombstones (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    pk          text NOT NULL,          -- the row key as compact JSON, e.g. {"emp_id":42}
    _cdc_ts     timestamptz NOT NULL,
    _cdc_seq    bigint NOT NULL,
    PRIMARY KEY (schema_name, table_name, pk)
);
-- When the consumer wrote (or last moved) the tombstone: the consumer prunes tombstones by
-- this age (consumer/tombstone_pruner.hpp says why not by _cdc_ts). Tombstones from before
-- the column existed count from the upgrade, which only keeps them longer.
ALTER TABLE cdc.tombstones ADD COLUMN IF NOT EXISTS written_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS tombstones_written_at ON cdc.tombstones (written_at);

-- Messages the consumer could not apply, with the reason; the good ones keep flowing.
CREATE TABLE IF NOT EXISTS cdc.dead_letters (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint NOT NULL,
    key        bytea,
    value      bytea,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Columns `consumer --schema-evolution add-columns` added or saw dropped on the source
-- (consumer/schema_evolver.hpp). `absent` is what a row image without the column stands for:
-- the value source rows from before ADD COLUMN ... DEFAULT read, so a change written before
-- the ALTER and applied after it gets that value, not NULL. A dropped column stands for NULL.
-- `seq` is the source log position of the ALTER last applied to the column: every partition
-- carries a copy of each change, and a copy of an older one must not undo a newer one.
CREATE TABLE IF NOT EXISTS cdc.evolved_columns (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    column_name text NOT NULL,
    absent      json,
    dropped     boolean NOT NULL DEFAULT false,
    seq         bigint NOT NULL,
    PRIMARY KEY (schema_name, table_name, column_name)
);

-- Initial loads (db_setup --snapshot), one row per table: each chunk updates it in the
-- transaction that writes the chunk's rows, so a killed load resumes after its last
-- completed chunk. last_key: the key column values (as text) of the last chunk's upper
-- bound; NULL before the first chunk.
CREATE TABLE IF NOT EXISTS cdc.table_loads (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    state       text NOT NULL CHECK (state IN ('copying', 'done')),
    last_key    text[],
    rows_copied bigint NOT NULL DEFAULT 0,
    rows_total  bigint,
    chunks      bigint NOT NULL DEFAULT 0,
    runs        integer NOT NULL DEFAULT 1,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (schema_name, table_name)
);

-- When sql/roles.sql created the consumer's role, give it what the consumer uses here;
-- db_setup grants the replicated tables one by one.
DO $grant$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgtrail_consumer') THEN
        GRANT USAGE ON SCHEMA cdc TO pgtrail_consumer;
        GRANT SELECT, INSERT, UPDATE ON cdc.consumer_offsets TO pgtrail_consumer;
        GRANT SELECT, INSERT, UPDATE ON cdc.consumer_claims TO pgtrail_consumer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON cdc.tombstones TO pgtrail_consumer;
        GRANT SELECT, INSERT ON cdc.dead_letters TO pgtrail_consumer;
        GRANT SELECT, INSERT, UPDATE ON cdc.evolved_columns TO pgtrail_consumer;
    END IF;
END
$grant$;
