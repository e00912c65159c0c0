-- bench.sh scenario 4: single-row INSERT into :table (-D table=ovh_captured|ovh_plain).
INSERT INTO :table (first_name, last_name, dob, city, salary)
VALUES ('f', 'l', date '1990-01-01', 'c', 1);
