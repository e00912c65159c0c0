-- bench.sh scenario 4: single-row UPDATE of a random existing row of :table
-- (-D table=ovh_captured|ovh_plain -D rows=N, the table pre-populated with ids 1..N).
\set id random(1, :rows)
UPDATE :table SET salary = salary + 1 WHERE emp_id = :id;
