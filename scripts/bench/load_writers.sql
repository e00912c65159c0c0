-- bench.sh load scenario: single-row UPDATE of a random row of bench_load_busy while
-- db_setup --snapshot loads it (-D rows=N, ids 1..N).
\set id random(1, :rows)
UPDATE bench_load_busy SET n = n + 1 WHERE id = :id;
