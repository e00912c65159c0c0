-- bench.sh: installed on the DESTINATION only, after db_setup created public.bench_latency.
-- Each replicated row records how long ago the source wrote it.
CREATE TABLE bench_latency_samples (ms float8 NOT NULL);

CREATE FUNCTION bench_latency_sample() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO public.bench_latency_samples (ms)
    VALUES (extract(epoch FROM clock_timestamp() - NEW.created_at) * 1000);
    RETURN NULL;
END
$fn$;

-- A deferred constraint trigger fires at the consumer's COMMIT, i.e. when the row becomes
-- visible, not when the batch's INSERT ran (which can be a whole batch earlier).
CREATE CONSTRAINT TRIGGER bench_latency_sample
    AFTER INSERT OR UPDATE ON public.bench_latency
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bench_latency_sample();
-- ALWAYS: fires even if the applying session runs with session_replication_role = replica.
ALTER TABLE public.bench_latency ENABLE ALWAYS TRIGGER bench_latency_sample;
