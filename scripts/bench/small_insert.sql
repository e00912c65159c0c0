-- bench.sh scenario 2: one single-row INSERT transaction (pgbench -f, autocommit).
\set salary random(1, 1000000)
INSERT INTO employees (first_name, last_name, dob, city, salary)
VALUES ('f' || :client_id, 'l' || :client_id, date '1990-01-01' + :client_id, 'c' || :client_id, :salary);
