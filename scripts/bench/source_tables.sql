-- bench.sh: tables created on the source before db_setup (public.employees comes from
-- db_setup --demo). Run once per fresh source database.

-- Latency probe: created_at is written at the source and compared with the destination's
-- clock by a bench-only trigger (dest_latency.sql).
CREATE TABLE bench_latency (
    id         bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    note       text
);

-- Trigger overhead: two tables identical to the demo table; only ovh_captured is captured.
CREATE TABLE ovh_captured (
    emp_id     serial PRIMARY KEY,
    first_name varchar(100),
    last_name  varchar(100),
    dob        date,
    city       varchar(100),
    salary     int
);
CREATE TABLE ovh_plain (
    emp_id     serial PRIMARY KEY,
    first_name varchar(100),
    last_name  varchar(100),
    dob        date,
    city       varchar(100),
    salary     int
);

-- Rules (scenario 9): the demo table's shape again, one table per rules mode, captured only
-- by db_setup --rules once the mirror's scenarios are done, so no consumer ever applies
-- another's changes.
CREATE TABLE employees_filter (
    emp_id     serial PRIMARY KEY,
    first_name varchar(100),
    last_name  varchar(100),
    dob        date,
    city       varchar(100),
    salary     int
);
CREATE TABLE employees_history (
    emp_id     serial PRIMARY KEY,
    first_name varchar(100),
    last_name  varchar(100),
    dob        date,
    city       varchar(100),
    salary     int
);
