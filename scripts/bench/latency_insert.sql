-- bench.sh scenario 3: one transaction inserting :rows rows (-D rows=N); created_at defaults
-- to clock_timestamp() on the source.
INSERT INTO bench_latency (note) SELECT 'x' FROM generate_series(1, :rows);
