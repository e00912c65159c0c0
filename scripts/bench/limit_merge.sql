-- bench.sh scenario 6: the destination's raw capacity for the consumer's kind of work.
-- COPY the CSV on stdin into a temp table, then one guarded upsert, exactly the shape of
-- pgtrail's apply (last-write guard on (_cdc_ts, _cdc_seq), NULL guard counts as older).
CREATE TEMP TABLE limit_in (LIKE public.employees_limit);
\copy limit_in FROM pstdin WITH (FORMAT csv)
INSERT INTO public.employees_limit AS d
    (emp_id, first_name, last_name, dob, city, salary, _cdc_ts, _cdc_seq)
SELECT emp_id, first_name, last_name, dob, city, salary, _cdc_ts, _cdc_seq FROM limit_in
ON CONFLICT (emp_id) DO UPDATE SET
    first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, dob = EXCLUDED.dob,
    city = EXCLUDED.city, salary = EXCLUDED.salary,
    _cdc_ts = EXCLUDED._cdc_ts, _cdc_seq = EXCLUDED._cdc_seq
WHERE d._cdc_ts IS NULL OR (d._cdc_ts, d._cdc_seq) < (EXCLUDED._cdc_ts, EXCLUDED._cdc_seq);
