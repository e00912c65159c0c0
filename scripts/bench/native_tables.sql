-- bench.sh scenario 8: the tables PostgreSQL's own logical replication copies, created alike
-- on both sides of the native pair. employees is the demo table as db_setup --demo creates it
-- (setup/capture_installer.cpp); bench_latency as in source_tables.sql.
CREATE TABLE employees (
    emp_id     serial PRIMARY KEY,
    first_name varchar(100),
    last_name  varchar(100),
    dob        date,
    city       varchar(100),
    salary     integer
);
CREATE TABLE bench_latency (
    id         bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    note       text
);
