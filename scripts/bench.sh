#!/usr/bin/env bash
# pgtrail's benchmark. One command: builds (Release, build-bench/), starts its own stack (two
# PostgreSQL clusters tuned alike and a dev broker with a 32-partition topic per run), runs
# every scenario with producer and consumer running in the background as users run them,
# tears everything down on exit, prints a table of medians and writes the raw values as JSON
# plus a PNG plot.
#
#   scripts/bench.sh [--runs N] [--smoke] [--only bulk|overhead|load|rules] [--load-rows N]
#
#   --runs N   independent runs (fresh databases, topic, producer and consumer each); the
#              table shows medians (default 3)
#   --smoke    tiny sizes, one run, under a minute; still checks correctness (db_verify,
#              nothing expired on the broker). Results go to build-bench/bench-smoke/
#              unless BENCH_OUT is set.
#   --only bulk
#              scenarios 6, 8 and 1 alone (limit, native logical replication's bulk phases
#              and pgtrail's, with the footprint during bulk; about 4 minutes a run), for
#              measuring a change to the consumer's apply; no plot. Results go to build-bench/bench-bulk/ unless BENCH_OUT is set.
#   --only overhead
#              scenario 4 alone (about 5 minutes a run), for measuring a change to the
#              capture trigger; no plot. Results go to build-bench/bench-overhead/ unless
#              BENCH_OUT is set.
#   --only load
#              scenario 7 alone (a full run ends with it too): initial load of
#              --load-rows rows (default 1,000,000; 10000000 for the 10M figure) by
#              db_setup --snapshot beside a plain COPY pipe between the same clusters, and
#              the longest pgbench writer wait during a 1M-row load. Results go to
#              build-bench/bench-load/ unless BENCH_OUT is set.
#   --only rules
#              scenarios 1 and 9 alone (mirroring's bulk phases, then the same phases under a
#              row filter and into a history table; about 10 minutes a run). Results go to
#              build-bench/bench-rules/ unless BENCH_OUT is set.
#
# Environment: BENCH_OUT (results directory, default bench/results), BENCH_BUILD_DIR (use the
# programs built there instead of building Release into build-bench), BENCH_SOURCE_PORT and
# BENCH_DEST_PORT (default: the first free ports from 7433 and 7434).
#
# Scenarios, all measured, nothing asserted:
#   1 bulk:    one transaction inserts N rows into public.employees, then one updates all of
#              them, then one deletes all; time from commit until the destination matches.
#   2 small:   single-row INSERT transactions from 8 pgbench clients; time from pgbench's
#              start until the destination has them all; pgbench's own TPS beside it.
#   3 latency: a steady rate into bench_latency; a deferred trigger on the destination only
#              records commit-to-visibility per row; p50/p95/p99. Runs first, on a topic
#              still nearly empty.
#   4 trigger overhead: pgbench single-row INSERT and UPDATE TPS, captured vs an identical
#              uncaptured table, alternating, paired ratios: first with the producer running
#              (it is part of capture's cost in production), then with it stopped (the
#              trigger's own cost). The consumer is stopped meanwhile (destination work is
#              not capture cost, and it would compete for the same cores). Before scenarios 4
#              and 7 both databases are vacuumed, so the bulk's dead rows are not cleaned by
#              autovacuum in the middle of them.
#   5 footprint: peak RSS (VmHWM) and CPU seconds (utime+stime) of producer and consumer.
#   6 limit:   on the destination cluster, COPY N rows into a temp table plus one guarded
#              INSERT ... ON CONFLICT DO UPDATE (the consumer's kind of work, in one piece),
#              for new rows and for updates; throughput figures are shown as a share of it.
#   7 load:    `COPY (SELECT ...) TO STDOUT | COPY ... FROM STDIN` between the two
#              clusters, then db_setup --snapshot of the same table into the running pipeline
#              (rows/s, the share of the pipe's, db_setup's peak RSS); then a second 1M-row
#              table loaded while 8 pgbench clients update random rows of it: the longest
#              pgbench transaction during the load is the longest a writer waited.
#   8 native:  PostgreSQL's own logical replication (a publication and a subscription at
#              their defaults) between the same two clusters, in a database pair of its own,
#              before pgtrail's programs start: scenarios 1, 2 and 3 on it, measured alike,
#              and pgtrail / native for each. Its bulk statements run on a table without a
#              trigger: the source txn times beside pgtrail's are capture's cost to a writer.
#   9 rules:   scenario 1's phases again, on a table of each mode's own
#              (public.employees_filter, public.employees_history), each applied by a
#              consumer with a rules file instead of mirroring: `filter`
#              (where emp_id % 2 = 0: half the rows kept, the other half's changes applied as
#              guarded deletes with tombstones) and `history` (one row per change); the
#              figures beside mirroring's of the same run. Runs last, after db_verify, with
#              the mirroring consumer stopped, each mode's consumer alone on the cores.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
sql_dir=$repo/scripts/bench
# BENCH_BUILD_DIR: use programs already built there (scripts/test.sh's smoke run) instead of
# a Release build of its own.
build=${BENCH_BUILD_DIR:-$repo/build-bench}

# ---------------------------------------------------------------------------- options

runs=3
smoke=0
only=""
load_rows=1000000
while (($#)); do
    case $1 in
        --runs)
            [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs needs a positive integer" >&2; exit 2; }
            runs=$2
            shift 2
            ;;
        --runs=*)
            runs=${1#--runs=}
            [[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs needs a positive integer" >&2; exit 2; }
            shift
            ;;
        --smoke) smoke=1; shift ;;
        --load-rows)
            [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "bench: --load-rows needs a positive integer" >&2; exit 2; }
            load_rows=$2
            shift 2
            ;;
        --only)
            [[ ${2:-} =~ ^(bulk|overhead|load|rules)$ ]] || { echo "bench: --only takes: bulk, overhead, load, rules" >&2; exit 2; }
            only=$2
            shift 2
            ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

if ((smoke)); then
    runs=1
    bulk_rows=2000
    small_clients=8 small_per_client=63 # 504 transactions
    lat_low_rate=200 lat_low_s=3
    lat_high_rate=1000 lat_high_s=3
    ovh_rows=2000 ovh_s=2 ovh_pairs=1
    limit_rows=2000
    load_rows=20000 stall_rows=20000
    out_dir=${BENCH_OUT:-$build/bench-smoke}
else
    bulk_rows=1000000
    small_clients=8 small_per_client=12500 # 100,000 transactions
    lat_low_rate=1000 lat_low_s=60
    lat_high_rate=10000 lat_high_s=30
    ovh_rows=100000 ovh_s=10 ovh_pairs=3
    limit_rows=1000000
    stall_rows=1000000
    out_dir=${BENCH_OUT:-$repo/bench/results}
fi
[[ -z $only ]] || out_dir=${BENCH_OUT:-$build/bench-$only}
small_txns=$((small_clients * small_per_client))
# A single-row transaction commits (and fsyncs) one at a time; 10,000 of them per second is
# beyond a 2-core box's source alone, so rates above 2,000 changes/s are driven as 1,000
# transactions/s of rate/1,000 rows each. The output says which.
lat_rows_per_txn() { if (($1 > 2000)); then echo $(($1 / 1000)); else echo 1; fi; }

partitions=32 # the dev broker keeps ~5 MB per partition; 32 x 5 MB holds a 1M-row update
poll_s=0.1

# The same settings on both clusters, printed with the results. synchronous_commit stays on
# (production-like); the WAL settings keep checkpoints out of the measurements.
pg_settings=(
    "shared_buffers = 1GB"
    "max_wal_size = 4GB"
    "checkpoint_timeout = 30min"
    "synchronous_commit = on"
    "max_connections = 100"
    "wal_level = logical" # for scenario 8; pgtrail itself needs no more than the default
)

stamp=$(date +%Y%m%d-%H%M%S)
run_dir=$repo/run/bench-$stamp
mkdir -p "$run_dir"
metrics=$run_dir/metrics.tsv # key, unit, run, value: every raw figure
: >"$metrics"

# ---------------------------------------------------------------------------- helpers

say() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
    printf '%s bench: FAILED: %s\n' "$(date +%H:%M:%S)" "$*" >&2
    exit 1
}

now_us() { echo "${EPOCHREALTIME/./}"; }
# Seconds between two now_us readings, as a decimal.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$run" "$3" >>"$metrics"; }

# as_pg, pg_bin, port_busy, free_port, alive
source "$repo/scripts/lib/local_clusters.sh"
pgbench=$pg_bin/pgbench

# psql on either cluster: q_src DB SQL / q_dst DB SQL print unaligned, tuples only.
psql_on() {
    local port=$1 db=$2
    shift 2
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}
q_src() { psql_on "$src_port" "$1" -c "$2"; }
q_dst() { psql_on "$dst_port" "$1" -c "$2"; }
# The poller must not take both cores from the pipeline it measures: no parallel workers.
q_dst_poll() { PGOPTIONS='-c max_parallel_workers_per_gather=0' psql_on "$dst_port" "$1" -c "$2"; }

# CPU seconds (user + system) and peak RSS in MB of a running process.
cpu_s() {
    local ticks
    ticks=$(sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }')
    calc "$ticks / $(getconf CLK_TCK)"
}
larger() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
peak_rss_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# ---------------------------------------------------------------------------- teardown

stack_dir=""
broker_pid=""
producer_pid=""
consumer_pid=""
clusters_started=()

stop_process() { # pid name: SIGTERM (pgtrail finishes its batch and exits 0), then wait
    local pid=$1 name=$2 i
    [[ -n $pid ]] && alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 300; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    say "$name (pid $pid) ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? data
    trap - EXIT INT TERM
    stop_process "$consumer_pid" consumer
    stop_process "$producer_pid" producer
    stop_process "$broker_pid" "dev broker"
    for data in "${clusters_started[@]}"; do
        as_pg "$pg_bin/pg_ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
    done
    if [[ -n $stack_dir && -d $stack_dir ]]; then
        cp "$stack_dir"/*.log "$run_dir/" 2>/dev/null || true
        rm -rf "$stack_dir"
    fi
    if ((rc != 0)); then
        if [[ -s $metrics ]]; then
            echo "bench: figures measured before the failure (key, unit, run, value):" >&2
            sed 's/^/  /' "$metrics" >&2
        fi
        echo "bench: logs in ${run_dir#"$repo"/}" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------- setup

ensure_tools() {
    "$repo/scripts/install-deps.sh"
    local missing=() pkg
    for pkg in gnuplot-nox jq; do
        [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] ||
            missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return
    say "installing ${missing[*]}"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_programs() {
    say "building Release into ${build#"$repo"/} (log: ${run_dir#"$repo"/}/build.log)"
    if ! { cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$build" -j2 --target producer consumer db_setup db_verify pgtrail_dev_broker; } \
        >"$run_dir/build.log" 2>&1; then
        tail -n 30 "$run_dir/build.log" >&2
        die "build failed"
    fi
}

start_cluster() { # name port
    local name=$1 port=$2 data=$stack_dir/$1 log=$stack_dir/$1.log setting
    mkdir -p "$data"
    ((EUID != 0)) || chown postgres: "$data"
    as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$run_dir/initdb-$name.log" 2>&1 ||
        die "initdb $name failed, see $run_dir/initdb-$name.log"
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = ''"
        for setting in "${pg_settings[@]}"; do echo "$setting"; done
    } >>"$data/postgresql.conf"
    touch "$log"
    ((EUID != 0)) || chown postgres: "$log"
    as_pg "$pg_bin/pg_ctl" start -D "$data" -l "$log" -o "-p $port" -w -t 60 >/dev/null ||
        die "$name PostgreSQL did not start: $(tail -n 5 "$log")"
    clusters_started+=("$data")
}

start_stack() {
    stack_dir=$(mktemp -d /tmp/pgtrail-bench.XXXXXX)
    chmod 755 "$stack_dir" # the postgres user must reach its data directories
    src_port=${BENCH_SOURCE_PORT:-$(free_port 7433)}
    dst_port=${BENCH_DEST_PORT:-$(free_port 7434)}
    [[ $src_port != "$dst_port" ]] || dst_port=$(free_port $((src_port + 1)))
    port_busy "$src_port" && die "source port $src_port is taken"
    port_busy "$dst_port" && die "destination port $dst_port is taken"
    start_cluster source "$src_port"
    start_cluster dest "$dst_port"

    # One topic per run, so every run starts from an empty topic and fresh offsets.
    local topics=() r i
    for ((r = 1; r <= runs; r++)); do topics+=(--topic "bench_r$r:$partitions" --topic "bench_r${r}_dlq:1"); done
    "$build/pgtrail_dev_broker" --address-file "$stack_dir/broker.addr" "${topics[@]}" \
        </dev/null >"$stack_dir/broker.log" 2>&1 &
    broker_pid=$!
    for ((i = 0; i < 300; i++)); do
        [[ -s $stack_dir/broker.addr ]] && break
        alive "$broker_pid" || die "dev broker exited: $(tail -n 5 "$stack_dir/broker.log")"
        sleep 0.1
    done
    [[ -s $stack_dir/broker.addr ]] || die "dev broker wrote no address in 30 s"
    brokers=$(<"$stack_dir/broker.addr")
    say "stack up: source 127.0.0.1:$src_port, destination 127.0.0.1:$dst_port, dev broker $brokers"
}

# ---------------------------------------------------------------------------- the pipeline

start_producer() {
    "$build/producer" --source "$src_url" --brokers "$brokers" --topic "$topic" \
        </dev/null >>"$rdir/producer.log" 2>&1 &
    producer_pid=$!
}

start_consumer() {
    # session.timeout.ms=6000: the dev broker hands partitions to a (re)joining member only
    # after the previous member's session expired.
    "$build/consumer" --dest "$dst_url" --brokers "$brokers" --topic "$topic" --group "$topic" \
        -X session.timeout.ms=6000 </dev/null >>"$rdir/consumer.log" 2>&1 &
    consumer_pid=$!
}

# Stops a program with SIGTERM and checks it exited 0; prints its peak RSS first.
stop_checked() { # name
    local name=$1 pid rc=0
    pid=$([[ $name == producer ]] && echo "$producer_pid" || echo "$consumer_pid")
    stop_process "$pid" "$name"
    wait "$pid" || rc=$?
    ((rc == 0)) || die "$name exited $rc on SIGTERM; last lines of $rdir/$name.log:"$'\n'"$(tail -n 20 "$rdir/$name.log")"
    if [[ $name == producer ]]; then producer_pid=""; else consumer_pid=""; fi
}

# Both programs alive and nothing expired on the broker before the consumer applied it.
check_pipeline() {
    local name pid
    for name in producer consumer; do
        pid=$([[ $name == producer ]] && echo "$producer_pid" || echo "$consumer_pid")
        [[ -z $pid ]] && continue # deliberately stopped
        alive "$pid" || die "$name exited; last lines of $rdir/$name.log:"$'\n'"$(tail -n 20 "$rdir/$name.log")"
    done
    if grep -qs "changes lost" "$rdir/consumer.log"; then
        die "the dev broker dropped messages before the consumer applied them: $(grep -m1 "changes lost" "$rdir/consumer.log")"
    fi
}

# Fingerprint of a table's rows (count and a sum), optionally of its tail only: equal on
# both sides means the destination caught up.
fp_sql() { # table sum-expression [where]
    echo "SELECT count(*) || ':' || coalesce(sum($2), 0) FROM $1 ${3:+WHERE $3}"
}

# Polls the destination every 100 ms until `fp_sql` of table matches `want`, and returns
# (in synced_us) when the snapshot of the query that first saw it was taken. The tail check
# (an index range scan, ~1 ms) gates the full count, so the poller stays light while the
# pipeline works: each partition applies in offset order, so once the last rows have arrived
# the full check is about to succeed.
synced_us=0
wait_synced() { # label timeout_s table sum_expr want_full [tail_where want_tail]
    local label=$1 timeout_s=$2 table=$3 expr=$4 want=$5 tail_where=${6:-} want_tail=${7:-}
    local start deadline t got tail_ok=0 i=0
    start=$(now_us)
    deadline=$((start + timeout_s * 1000000))
    [[ -n $tail_where ]] || tail_ok=1
    while :; do
        t=$(now_us)
        if ((!tail_ok)); then
            got=$(q_dst_poll "$db" "$(fp_sql "$table" "$expr" "$tail_where")") || got=error
            [[ $got == "$want_tail" ]] && tail_ok=1
        fi
        if ((tail_ok)); then
            # With the time its snapshot was taken (same machine, same clock), rather than a
            # time before psql started or after it returned.
            got=$(q_dst_poll "$db" "SELECT ($(fp_sql "$table" "$expr")) || ' ' ||
                (extract(epoch FROM statement_timestamp()) * 1000000)::bigint") || got=error
            if [[ ${got% *} == "$want" ]]; then
                synced_us=${got#* }
                return
            fi
            got=${got% *}
        fi
        ((++i % 10)) || check_pipeline
        ((t < deadline)) || die "$label: the destination's $table did not match the source within ${timeout_s}s (want $want, have $got)$(stuck_report)"
        sleep "$poll_s"
    done
}

# What the destination and the consumer were doing when a wait timed out.
stuck_report() {
    echo
    echo "destination sessions of $db (longest first):"
    q_dst postgres "SELECT format('  pid %s %s %s for %s: %s', pid, state, coalesce(wait_event, '-'),
            date_trunc('second', now() - query_start), left(regexp_replace(query, '\s+', ' ', 'g'), 160))
        FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid() AND state <> 'idle'
        ORDER BY query_start" 2>&1 || true
    echo "last lines of $rdir/consumer.log:"
    tail -n 5 "$rdir/consumer.log"
}

# A row through the whole pipeline and back out, so the first measured scenario does not
# include the consumer's group join.
warm_up() {
    local want
    q_src "$db" "INSERT INTO employees (first_name, last_name, dob, city, salary) VALUES ('w', 'w', '2000-01-01', 'w', 1)"
    wait_synced "warm-up insert" 120 employees salary "1:1"
    q_src "$db" "DELETE FROM employees"
    want=$(q_src "$db" "$(fp_sql employees salary)")
    wait_synced "warm-up delete" 60 employees salary "$want"
}

# ---------------------------------------------------------------------------- per-run setup

setup_databases() {
    q_src postgres "CREATE DATABASE $db"
    q_dst postgres "CREATE DATABASE $db"
    psql_on "$src_port" "$db" -f "$sql_dir/source_tables.sql"
    "$build/db_setup" --source "$src_url" --dest "$dst_url" --brokers "$brokers" --topic "$topic" \
        --partitions "$partitions" --demo --table public.bench_latency --table public.ovh_captured \
        >"$rdir/db_setup.log" 2>&1 || die "db_setup failed: $(tail -n 5 "$rdir/db_setup.log")"
    psql_on "$dst_port" "$db" -f "$sql_dir/dest_latency.sql"
}

drop_databases() {
    q_src postgres "DROP DATABASE $db"
    q_dst postgres "DROP DATABASE $db"
}

# ---------------------------------------------------------------------------- scenarios

# 6. The destination's raw capacity for the same rows and the same guarded upsert.
scenario_limit() {
    local csv_new=$stack_dir/limit_new.csv csv_upd=$stack_dir/limit_upd.csv t0 t1 s kind csv
    if [[ ! -s $csv_upd ]]; then
        # Once per bench: rows shaped like scenario 1's, with guard values; the update set has
        # the same keys, new salaries and newer guards.
        q_dst postgres "COPY (SELECT g, 'f'||g, 'l'||g, date '1990-01-01' + (g % 10000), 'c'||(g%100), g,
                timestamptz '2020-01-01' + g * interval '1 microsecond', g
            FROM generate_series(1, $limit_rows) g) TO STDOUT WITH (FORMAT csv)" >"$csv_new"
        q_dst postgres "COPY (SELECT g, 'f'||g, 'l'||g, date '1990-01-01' + (g % 10000), 'c'||(g%100), g + 1,
                timestamptz '2021-01-01' + g * interval '1 microsecond', $limit_rows + g
            FROM generate_series(1, $limit_rows) g) TO STDOUT WITH (FORMAT csv)" >"$csv_upd"
    fi
    q_dst "$db" "CREATE TABLE employees_limit (LIKE employees INCLUDING ALL)"
    q_dst "$db" "CHECKPOINT"
    for kind in insert update; do
        csv=$csv_new
        [[ $kind == insert ]] || csv=$csv_upd
        t0=$(now_us)
        psql_on "$dst_port" "$db" -f "$sql_dir/limit_merge.sql" <"$csv"
        t1=$(now_us)
        s=$(secs "$t0" "$t1")
        record "limit_${kind}_rows_s" "rows/s" "$(calc "$limit_rows / $s")"
    done
    [[ $(q_dst "$db" "SELECT count(*) FROM employees_limit WHERE salary = emp_id + 1") == "$limit_rows" ]] ||
        die "limit: the guarded update did not update every row"
    q_dst "$db" "DROP TABLE employees_limit"
    say "limit: $(last limit_insert_rows_s) rows/s new, $(last limit_update_rows_s) rows/s updates"
}

last() { # key [printf format, default %.0f]: this run's figure
    awk -F'\t' -v k="$1" -v r="$run" -v f="${2:-%.0f}" '$1 == k && $3 == r { v = $4 } END { printf f, v }' "$metrics"
}

# Runs one source transaction (statement + fingerprints of the table and its tail) and
# prints "full tail": the fingerprints are taken inside the transaction, before the commit,
# so they are not part of the time measured from the commit on.
source_txn() { # statement tail_where
    psql_on "$src_port" "$db" -F ' ' <<SQL
BEGIN;
$1;
SELECT ($(fp_sql employees salary)), ($(fp_sql employees salary "$2"));
COMMIT;
SQL
}

# 1. Bulk insert, update, delete of bulk_rows rows in single transactions (+ 5. footprint
# of pgtrail's programs). The metric prefix is empty for pgtrail, native_ for scenario 8.
scenario_bulk() { # [prefix]
    local prefix=${1:-} hi tail_where fps t_start t_commit s pcpu0 ccpu0 pcpu1 ccpu1 step sql timeout_s
    timeout_s=$((bulk_rows / 1000 + 60)) # even at 1,000 changes/s
    if [[ -z $prefix ]]; then
        pcpu0=$(cpu_s "$producer_pid")
        ccpu0=$(cpu_s "$consumer_pid")
    fi
    for step in insert update delete; do
        case $step in
            insert) sql="INSERT INTO employees (first_name, last_name, dob, city, salary)
                SELECT 'f'||g, 'l'||g, date '1990-01-01' + (g % 10000), 'c'||(g%100), g
                FROM generate_series(1, $bulk_rows) g" ;;
            update) sql="UPDATE employees SET salary = salary + 1" ;;
            delete) sql="DELETE FROM employees" ;;
        esac
        if [[ $step == insert ]]; then
            # The tail: the last 1,000 keys, spread over every partition by the key hash.
            hi=$(q_src "$db" "SELECT last_value FROM employees_emp_id_seq")
            tail_where="emp_id > $((hi + bulk_rows - 1000))"
        fi
        t_start=$(now_us)
        fps=$(source_txn "$sql" "$tail_where")
        t_commit=$(now_us) # psql returned: committed
        # The source transaction's own duration: with capture's trigger for pgtrail, on a
        # bare table for native.
        record "${prefix}bulk_${step}_source_txn_s" s "$(secs "$t_start" "$t_commit")"
        wait_synced "${prefix}bulk $step" "$timeout_s" employees salary "${fps% *}" "$tail_where" "${fps#* }"
        s=$(secs "$t_commit" "$synced_us")
        record "${prefix}bulk_${step}_changes_s" "changes/s" "$(calc "$bulk_rows / $s")"
        say "${prefix}bulk $step: $bulk_rows changes in ${s}s after commit = $(last "${prefix}bulk_${step}_changes_s") changes/s (source txn $(last "${prefix}bulk_${step}_source_txn_s" %.1f) s)"
        if [[ -z $prefix && $step == insert ]]; then
            record producer_rss_bulk_insert_mb MB "$(peak_rss_mb "$producer_pid")"
            record consumer_rss_bulk_insert_mb MB "$(peak_rss_mb "$consumer_pid")"
        fi
    done
    [[ -z $prefix ]] || return 0
    pcpu1=$(cpu_s "$producer_pid")
    ccpu1=$(cpu_s "$consumer_pid")
    record producer_cpu_s_per_100k_bulk "CPU s" "$(calc "($pcpu1 - $pcpu0) * 100000 / (3 * $bulk_rows)")"
    record consumer_cpu_s_per_100k_bulk "CPU s" "$(calc "($ccpu1 - $ccpu0) * 100000 / (3 * $bulk_rows)")"
    record producer_rss_bulk_mb MB "$(peak_rss_mb "$producer_pid")"
    record consumer_rss_bulk_mb MB "$(peak_rss_mb "$consumer_pid")"
}

# 9. Rules: one consumer per mode, each with its own group, rules file and destination table.
rules_text() { # mode
    case $1 in
        filter) printf '[[table]]\nsource = "public.employees_filter"\ndest = "bench.employees_filtered"\nwhere = "emp_id %% 2 = 0"\n' ;;
        history) printf '[[table]]\nsource = "public.employees_history"\ndest = "bench.employees_history"\nmode = "history"\n' ;;
    esac
}

# count:sum of two fingerprints added (a history table gains the rows of each phase).
add_fp() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, ":"); split(b, y, ":"); printf "%.0f:%.0f", x[1] + y[1], x[2] + y[2] }'; }

# One source transaction; prints the fingerprints "full tail" of the table's rows matching
# `where` (and the tail), taken inside it, before or after the statement.
rules_txn() { # table statement where tail_where before|after
    local fps
    fps="SELECT ($(fp_sql "$1" salary "$3")), ($(fp_sql "$1" salary "$4"));"
    shift
    psql_on "$src_port" "$db" -F ' ' <<SQL
BEGIN;
$([[ $4 == before ]] && echo "$fps")
$1;
$([[ $4 == after ]] && echo "$fps")
COMMIT;
SQL
}

# Waits until group's stored offsets reach every partition's high watermark.
wait_group_caught_up() { # group label
    local deadline=$(($(now_us) + 600 * 1000000))
    until "$build/db_verify" --status --source "$src_url" --dest "$dst_url" --brokers "$brokers" \
        --topic "$topic" --group "$1" 2>/dev/null | grep -q "^  total lag 0$"; do
        check_pipeline
        (($(now_us) < deadline)) || die "$2: group $1 did not catch up within 600 s"
        sleep 0.5
    done
}

rules_mode() { # mode
    local mode=$1 group=${topic}_$1 rules=$rdir/rules-$1.toml source=employees_$1 table where step sql hi tail_where
    local when fps want want_tail t_start t_commit s base base_tail
    rules_text "$mode" >"$rules"
    "$build/db_setup" --source "$src_url" --dest "$dst_url" --brokers "$brokers" --topic "$topic" \
        --partitions "$partitions" --rules "$rules" >>"$rdir/db_setup.log" 2>&1 ||
        die "db_setup --rules ($mode) failed: $(tail -n 5 "$rdir/db_setup.log")"
    echo "--- consumer --rules $rules (group $group)" >>"$rdir/consumer.log"
    "$build/consumer" --dest "$dst_url" --brokers "$brokers" --topic "$topic" --group "$group" \
        --rules "$rules" -X session.timeout.ms=6000 </dev/null >>"$rdir/consumer.log" 2>&1 &
    consumer_pid=$!
    if [[ $mode == filter ]]; then
        table=bench.employees_filtered where="emp_id % 2 = 0"
    else
        table=bench.employees_history where=""
    fi
    # A row through the rule and out again (emp_id 0 is never the sequence's; it matches the
    # filter), then the rest of the topic, which this group skips.
    q_src "$db" "INSERT INTO $source VALUES (0, 'w', 'w', '2000-01-01', 'w', 0)"
    wait_synced "rules $mode warm-up insert" 120 "$table" salary "1:0" "emp_id = 0" "1:0"
    q_src "$db" "DELETE FROM $source WHERE emp_id = 0"
    if [[ $mode == filter ]]; then
        wait_synced "rules $mode warm-up delete" 120 "$table" salary "0:0"
    else
        wait_synced "rules $mode warm-up delete" 120 "$table" salary "2:0" "emp_id = 0" "2:0"
    fi
    wait_group_caught_up "$group" "rules $mode warm-up"
    for step in insert update delete; do
        when=after
        case $step in
            insert) sql="INSERT INTO $source (first_name, last_name, dob, city, salary)
                SELECT 'f'||g, 'l'||g, date '1990-01-01' + (g % 10000), 'c'||(g%100), g
                FROM generate_series(1, $bulk_rows) g" ;;
            update) sql="UPDATE $source SET salary = salary + 1" ;;
            delete) sql="DELETE FROM $source" ;;
        esac
        # A history table gains the rows a phase wrote, or for a delete the rows it removed.
        [[ $mode == history && $step == delete ]] && when=before
        if [[ $step == insert ]]; then
            hi=$(q_src "$db" "SELECT last_value FROM ${source}_emp_id_seq")
            tail_where="emp_id > $((hi + bulk_rows - 1000))"
        fi
        base=0:0 base_tail=0:0
        if [[ $mode == history ]]; then
            base=$(q_dst "$db" "$(fp_sql "$table" salary)")
            base_tail=$(q_dst "$db" "$(fp_sql "$table" salary "$tail_where")")
        fi
        t_start=$(now_us)
        fps=$(rules_txn "$source" "$sql" "$where" "${where:+$where AND }$tail_where" "$when")
        t_commit=$(now_us)
        if [[ $mode == filter ]]; then
            want=${fps% *} want_tail=${fps#* }
        else
            want=$(add_fp "$base" "${fps% *}") want_tail=$(add_fp "$base_tail" "${fps#* }")
        fi
        wait_synced "rules $mode bulk $step" $((bulk_rows / 1000 + 60)) "$table" salary "$want" "$tail_where" "$want_tail"
        s=$(secs "$t_commit" "$synced_us")
        record "rules_${mode}_bulk_${step}_changes_s" "changes/s" "$(calc "$bulk_rows / $s")"
        say "rules $mode bulk $step: $bulk_rows changes in ${s}s after commit = $(last "rules_${mode}_bulk_${step}_changes_s") changes/s (source txn $(secs "$t_start" "$t_commit") s)"
    done
    record "rules_${mode}_consumer_rss_mb" MB "$(peak_rss_mb "$consumer_pid")"
    stop_checked consumer
}

scenario_rules() {
    start_producer
    rules_mode filter
    rules_mode history
    stop_checked producer
}

# Reads pgbench's "tps = ..." and checks every transaction went through.
pgbench_tps() { # logfile expected_transactions(or empty)
    local tps processed failed
    tps=$(awk '/^tps = / { print $3; exit }' "$1")
    processed=$(awk -F': ' '/^number of transactions actually processed/ { split($2, a, "/"); print a[1]; exit }' "$1")
    failed=$(awk -F': ' '/^number of failed transactions/ { split($2, a, " "); print a[1]; exit }' "$1")
    [[ -n $tps ]] || die "pgbench printed no tps, see $1"
    [[ ${failed:-0} == 0 ]] || die "pgbench: $failed failed transactions, see $1"
    [[ -z ${2:-} || $processed == "$2" ]] || die "pgbench processed $processed transactions, not $2, see $1"
    echo "$tps"
}

run_pgbench() { # log  pgbench arguments...
    local log=$1
    shift
    "$pgbench" -h 127.0.0.1 -p "$src_port" -U postgres -n "$@" "$db" >"$log" 2>&1 ||
        die "pgbench failed, see $log: $(tail -n 3 "$log")"
}

# 2. Many small transactions (+ 5. footprint of pgtrail's programs); prefix as scenario_bulk.
scenario_small() { # [prefix]
    local prefix=${1:-} t0 fps tail_where hi s pcpu0 ccpu0 pcpu1 ccpu1 tps log=$rdir/pgbench-${1:-}small.log want
    if [[ -z $prefix ]]; then
        pcpu0=$(cpu_s "$producer_pid")
        ccpu0=$(cpu_s "$consumer_pid")
    fi
    t0=$(now_us)
    run_pgbench "$log" -c "$small_clients" -j 2 -t "$small_per_client" -f "$sql_dir/small_insert.sql"
    tps=$(pgbench_tps "$log" "$small_txns")
    hi=$(q_src "$db" "SELECT max(emp_id) FROM employees")
    tail_where="emp_id > $((hi - 1000))"
    want=$(q_src "$db" "$(fp_sql employees salary)")
    [[ ${want%%:*} == "$small_txns" ]] || die "small: the source has ${want%%:*} rows, not $small_txns"
    wait_synced "${prefix}small transactions" $((small_txns / 500 + 60)) employees salary "$want" \
        "$tail_where" "$(q_src "$db" "$(fp_sql employees salary "$tail_where")")"
    s=$(secs "$t0" "$synced_us")
    record "${prefix}small_changes_s" "changes/s" "$(calc "$small_txns / $s")"
    record "${prefix}small_pgbench_tps" "txn/s" "$tps"
    if [[ -z $prefix ]]; then
        pcpu1=$(cpu_s "$producer_pid")
        ccpu1=$(cpu_s "$consumer_pid")
        record producer_cpu_s_per_100k_small "CPU s" "$(calc "($pcpu1 - $pcpu0) * 100000 / $small_txns")"
        record consumer_cpu_s_per_100k_small "CPU s" "$(calc "($ccpu1 - $ccpu0) * 100000 / $small_txns")"
    fi
    say "${prefix}small: $small_txns transactions in ${s}s = $(last "${prefix}small_changes_s") changes/s end to end (pgbench alone: $(last "${prefix}small_pgbench_tps") TPS)"
    # Empty the table for what follows (unmeasured; TRUNCATE of a captured table is refused).
    q_src "$db" "DELETE FROM employees"
    wait_synced "${prefix}small cleanup" $((small_txns / 500 + 60)) employees salary "0:0"
}

# 3. Latency at a steady rate: rate, seconds, metric prefix.
latency_phase() {
    local rate=$1 dur=$2 key=$3 per_txn txn_rate log want n pct
    per_txn=$(lat_rows_per_txn "$rate")
    txn_rate=$((rate / per_txn))
    log=$rdir/pgbench-$key.log
    q_dst "$db" "TRUNCATE bench_latency_samples" # destination-only table, not captured
    n=$(q_src "$db" "SELECT count(*) FROM bench_latency")
    run_pgbench "$log" -c 4 -j 2 -R "$txn_rate" -T "$dur" -D rows="$per_txn" -f "$sql_dir/latency_insert.sql"
    pgbench_tps "$log" >/dev/null
    n=$(($(q_src "$db" "SELECT count(*) FROM bench_latency") - n))
    want=$(q_src "$db" "$(fp_sql bench_latency id)")
    wait_synced "latency @$rate/s" 120 bench_latency id "$want"
    [[ $(q_dst "$db" "SELECT count(*) FROM bench_latency_samples") == "$n" ]] ||
        die "latency @$rate/s: $n rows inserted but $(q_dst "$db" "SELECT count(*) FROM bench_latency_samples") samples"
    pct=$(q_dst "$db" "SELECT array_to_string(percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms), ' ') FROM bench_latency_samples")
    read -r p50 p95 p99 <<<"$pct"
    record "${key}_p50_ms" ms "$p50"
    record "${key}_p95_ms" ms "$p95"
    record "${key}_p99_ms" ms "$p99"
    record "${key}_max_ms" ms "$(q_dst "$db" "SELECT max(ms) FROM bench_latency_samples")"
    record "${key}_achieved_changes_s" "changes/s" "$(calc "$n / $dur")"
    record "${key}_rows_per_txn" rows "$per_txn"
    say "latency @$rate/s ($txn_rate txn/s x $per_txn rows, $n changes): p50 $(printf %.1f "$p50") ms, p95 $(printf %.1f "$p95") ms, p99 $(printf %.1f "$p99") ms"
}

scenario_latency() { # [prefix]
    latency_phase "$lat_low_rate" "$lat_low_s" "${1:-}lat_low"
    latency_phase "$lat_high_rate" "$lat_high_s" "${1:-}lat_high"
}

# 8. PostgreSQL's own logical replication between the same clusters, in databases of its own
# (native_rN), with the subscription at its defaults. It runs before pgtrail's programs start,
# so nothing of pgtrail's shares the cores with it.
scenario_native() {
    local pipeline_db=$db
    db=native_r$run
    q_src postgres "CREATE DATABASE $db"
    q_dst postgres "CREATE DATABASE $db"
    psql_on "$src_port" "$db" -f "$sql_dir/native_tables.sql"
    psql_on "$dst_port" "$db" -f "$sql_dir/native_tables.sql"
    psql_on "$dst_port" "$db" -f "$sql_dir/dest_latency.sql"
    q_src "$db" "CREATE PUBLICATION bench_native FOR TABLE employees, bench_latency"
    q_dst "$db" "CREATE SUBSCRIPTION bench_native
        CONNECTION 'host=127.0.0.1 port=$src_port dbname=$db user=postgres' PUBLICATION bench_native"
    wait_dest "native: the subscription's initial sync" 120 \
        "SELECT count(*) FILTER (WHERE srsubstate = 'r') = 2 FROM pg_subscription_rel"
    scenario_bulk native_
    if [[ -z $only ]]; then
        scenario_small native_
        scenario_latency native_
    fi
    PGOPTIONS="-c client_min_messages=warning" q_dst "$db" "DROP SUBSCRIPTION bench_native" # and its slot
    drop_databases
    db=$pipeline_db
}

# Both databases vacuumed and checkpointed, so the bulk scenario's millions of dead rows (in
# the tables and in cdc.log) are cleaned here rather than by autovacuum in the middle of the
# trigger-overhead and load measurements. The small-transaction scenario, right after the
# bulk, sees the bulk's aftermath as a user would.
quiesce() {
    q_src "$db" "VACUUM ANALYZE"
    q_dst "$db" "VACUUM ANALYZE"
    q_src postgres "CHECKPOINT"
    q_dst postgres "CHECKPOINT"
}

# Polls a query on the source (wait_source) or the destination (wait_dest) every 100 ms
# until it returns t.
wait_source() { wait_until q_src "$@"; }
wait_dest() { wait_until q_dst "$@"; }
wait_until() { # q_src|q_dst label timeout_s sql
    local deadline=$(($(now_us) + $3 * 1000000))
    until [[ $("$1" "$db" "$4") == t ]]; do
        check_pipeline
        (($(now_us) < deadline)) || die "$2: not done within $3 s"
        sleep "$poll_s"
    done
}

# Paired pgbench runs, captured vs uncaptured table, for INSERT and UPDATE; the suffix names
# the mode in the metrics.
overhead_pairs() { # metric-suffix description
    local suffix=$1 what=$2 op i order table log tps_cap tps_plain ratios
    for op in insert update; do
        ratios=()
        for ((i = 1; i <= ovh_pairs; i++)); do
            # Alternate which table goes first, so a drift over time favours neither.
            if ((i % 2)); then order="ovh_captured ovh_plain"; else order="ovh_plain ovh_captured"; fi
            for table in $order; do
                log=$rdir/pgbench-ovh$suffix-$op-$table-$i.log
                run_pgbench "$log" -c 8 -j 2 -T "$ovh_s" -D table="$table" -D rows="$ovh_rows" \
                    -f "$sql_dir/ovh_$op.sql"
                if [[ $table == ovh_captured ]]; then tps_cap=$(pgbench_tps "$log"); else tps_plain=$(pgbench_tps "$log"); fi
                check_pipeline
            done
            record "ovh_${op}${suffix}_tps_captured" "txn/s" "$tps_cap"
            record "ovh_${op}${suffix}_tps_plain" "txn/s" "$tps_plain"
            ratios+=("$(calc "$tps_cap / $tps_plain")")
        done
        # One figure per run: the median of its paired ratios.
        record "ovh_${op}${suffix}_ratio" ratio "$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
        say "trigger overhead $op, $what: captured/uncaptured TPS ratios ${ratios[*]}"
    done
}

# 4. Trigger overhead. First with the producer running (production-like: publishing is part
# of capture's cost, and on this machine the producer and the dev broker share the cores with
# PostgreSQL), then with the producer stopped (the trigger's own cost). The consumer is
# stopped throughout: applying to the destination is not capture's cost.
scenario_overhead() {
    local table want
    consumer_rss_first=$(peak_rss_mb "$consumer_pid") # its peak before it stops
    stop_checked consumer
    for table in ovh_captured ovh_plain; do
        q_src "$db" "INSERT INTO $table (first_name, last_name, dob, city, salary)
            SELECT 'f'||g, 'l'||g, date '1990-01-01' + (g % 10000), 'c'||(g%100), g FROM generate_series(1, $ovh_rows) g"
    done
    # The pre-population published first, so the first captured run does not pay for it.
    wait_source "publishing the pre-population" 300 "SELECT NOT EXISTS (SELECT 1 FROM cdc.log)"
    q_src "$db" "VACUUM ANALYZE ovh_captured, ovh_plain, cdc.log"
    q_src postgres "CHECKPOINT"
    overhead_pairs "" "producer running"
    producer_rss_first=$(peak_rss_mb "$producer_pid")
    stop_checked producer
    overhead_pairs _trigger_only "producer stopped"
    start_producer
    start_consumer
    want=$(q_src "$db" "$(fp_sql ovh_captured salary)")
    wait_synced "overhead catch-up" 600 ovh_captured salary "$want"
}

# 7. Initial load: the plain COPY pipe between the clusters, then db_setup --snapshot of the
# same rows; then the longest writer wait while another table loads under pgbench updates.
scenario_load() {
    local t0 t1 want pipe_s load_s rss log=$rdir/db_setup-load.log pgbench_log=$rdir/pgbench-load.log
    local create="(id bigint PRIMARY KEY, payload text, n numeric)"
    local fill="SELECT g, md5(g::text) || md5((g + 1)::text), g / 7.0 FROM generate_series"
    q_src "$db" "CREATE TABLE bench_load $create"
    q_src "$db" "INSERT INTO bench_load $fill(1, $load_rows) g"
    q_src "$db" "CREATE TABLE bench_load_busy $create"
    q_src "$db" "INSERT INTO bench_load_busy $fill(1, $stall_rows) g"
    q_src "$db" "VACUUM ANALYZE bench_load, bench_load_busy"
    q_dst "$db" "CREATE TABLE bench_load_pipe $create"
    q_src postgres "CHECKPOINT"
    q_dst postgres "CHECKPOINT"
    t0=$(now_us)
    psql_on "$src_port" "$db" -c "COPY (SELECT id, payload, n FROM bench_load) TO STDOUT" |
        psql_on "$dst_port" "$db" -c "COPY bench_load_pipe FROM STDIN"
    pipe_s=$(secs "$t0" "$(now_us)")
    record load_pipe_rows_s rows/s "$(calc "$load_rows / $pipe_s")"
    say "plain COPY pipe: $load_rows rows in ${pipe_s}s"
    q_dst "$db" "DROP TABLE bench_load_pipe"
    q_dst postgres "CHECKPOINT"

    t0=$(now_us)
    /usr/bin/time -f '%M' -o "$rdir/db_setup-load.rss" "$build/db_setup" --source "$src_url" \
        --dest "$dst_url" --brokers "$brokers" --topic "$topic" --table public.bench_load \
        --snapshot >"$log" 2>&1 || die "db_setup --snapshot failed: $(tail -n 5 "$log")"
    load_s=$(secs "$t0" "$(now_us)")
    rss=$(awk 'END { printf "%.1f", $1 / 1024 }' "$rdir/db_setup-load.rss")
    [[ $(q_dst "$db" "SELECT count(*) FROM bench_load") == "$load_rows" ]] ||
        die "the destination's bench_load does not hold $load_rows rows after the load"
    record load_rows_s rows/s "$(calc "$load_rows / $load_s")"
    record load_share_of_pipe fraction "$(calc "$pipe_s / $load_s")"
    record load_rss_mb MB "$rss"
    say "db_setup --snapshot: $load_rows rows in ${load_s}s, peak RSS ${rss} MB"

    # pgbench runs from 2 s before the load until well after it; -l logs every transaction's
    # latency (microseconds, third field).
    "$pgbench" -h 127.0.0.1 -p "$src_port" -U postgres -n -c 8 -j 2 \
        -T "$(awk -v s="$load_s" -v n="$stall_rows" -v m="$load_rows" 'BEGIN { printf "%d", 6 + 3 * s * n / m }')" \
        -l --log-prefix="$rdir/pgbench-load" -D rows="$stall_rows" -f "$sql_dir/load_writers.sql" \
        "$db" >"$pgbench_log" 2>&1 &
    local pgbench_pid=$!
    sleep 2
    t0=$(now_us)
    "$build/db_setup" --source "$src_url" --dest "$dst_url" --brokers "$brokers" --topic "$topic" \
        --table public.bench_load_busy --snapshot >"$rdir/db_setup-load-busy.log" 2>&1 ||
        die "db_setup --snapshot under pgbench failed: $(tail -n 5 "$rdir/db_setup-load-busy.log")"
    t1=$(now_us)
    wait "$pgbench_pid" || die "pgbench failed, see $pgbench_log"
    pgbench_tps "$pgbench_log" >/dev/null
    # Transactions that ended while the load ran (epoch seconds and microseconds in fields
    # 5 and 6), their longest latency and the 99th percentile for comparison.
    cat "$rdir"/pgbench-load.* | awk -v a="$t0" -v b="$t1" '{ end = $5 * 1000000 + $6; if (end >= a && end <= b) print $3 / 1000 }' |
        sort -g >"$rdir/load-writer-latencies.txt"
    [[ -s $rdir/load-writer-latencies.txt ]] || die "no pgbench transaction ended during the load"
    record load_writer_max_wait_ms ms "$(tail -n 1 "$rdir/load-writer-latencies.txt")"
    record load_writer_p99_ms ms "$(awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print v[i] }' "$rdir/load-writer-latencies.txt")"
    # For comparison: the longest of the same pgbench run's transactions outside the load.
    record load_writer_max_outside_ms ms "$(cat "$rdir"/pgbench-load.* | awk -v a="$t0" -v b="$t1" '{ end = $5 * 1000000 + $6; if (end < a || end > b) print $3 / 1000 }' | sort -g | tail -n 1)"
    say "load of $stall_rows rows under pgbench: longest writer transaction $(tail -n 1 "$rdir/load-writer-latencies.txt") ms"
    want=$(q_src "$db" "$(fp_sql bench_load_busy n)")
    wait_synced "load under pgbench" 600 bench_load_busy n "$want"
}

# Everything equal, nothing lost, both programs healthy and stopping cleanly.
verify_run() {
    local rc=0
    check_pipeline
    "$build/db_verify" --source "$src_url" --dest "$dst_url" >"$rdir/db_verify.log" 2>&1 || rc=$?
    ((rc == 0)) || die "db_verify exit $rc: $(tail -n 10 "$rdir/db_verify.log")"
    # Both programs ran twice (stopped for the trigger-overhead runs): the larger peak.
    record producer_rss_mb MB "$(larger "$producer_rss_first" "$(peak_rss_mb "$producer_pid")")"
    record consumer_rss_mb MB "$(larger "$consumer_rss_first" "$(peak_rss_mb "$consumer_pid")")"
    stop_checked consumer
    stop_checked producer
    grep -q "changes lost" "$rdir/consumer.log" && die "consumer log reports lost changes"
    say "run $run verified: db_verify exit 0, nothing expired on the broker, producer and consumer exited 0"
}

run_once() {
    db=bench_r$run
    topic=bench_r$run
    rdir=$run_dir/r$run
    mkdir -p "$rdir"
    src_url=postgresql://postgres@127.0.0.1:$src_port/$db
    dst_url=postgresql://postgres@127.0.0.1:$dst_port/$db
    say "=== run $run of $runs (logs: ${rdir#"$repo"/})"
    setup_databases
    [[ -n $only && $only != bulk ]] || scenario_limit
    [[ -n $only && $only != bulk ]] || scenario_native
    start_producer
    start_consumer
    warm_up
    # Latency first, while the dev broker's partitions are nearly empty: the same run measured
    # after the bulk scenario's millions of messages gave twice the latency, which a real
    # broker does not (README "Benchmarks").
    [[ -n $only ]] || scenario_latency
    [[ -n $only && $only != bulk && $only != rules ]] || scenario_bulk
    [[ -n $only ]] || scenario_small
    if [[ $only == bulk || $only == rules ]]; then
        producer_rss_first=0 consumer_rss_first=0
    elif [[ $only == load ]]; then
        quiesce
        producer_rss_first=0 consumer_rss_first=0
        scenario_load
    else
        quiesce
        scenario_overhead
        [[ -n $only ]] || scenario_load
    fi
    verify_run
    [[ -n $only && $only != rules ]] || scenario_rules
    drop_databases
}

# ---------------------------------------------------------------------------- report

median_of() { # key: median over runs
    awk -F'\t' -v k="$1" '$1 == k { print $4 }' "$metrics" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
values_of() { awk -F'\t' -v k="$1" -v f="$2" '$1 == k { printf "%s%s", (n++ ? ", " : ""), sprintf(f, $4) }' "$metrics"; }
joined() { # separator items...
    local sep=$1 out=$2
    shift 2
    for item; do out+=$sep$item; done
    echo "$out"
}
# Integers with thousands separators, independent of the locale.
commas() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = ""; while (length(s) > 3) { n = "," substr(s, length(s) - 2) n; s = substr(s, 1, length(s) - 3) } print s n }'; }

# Per run: a throughput figure as a share of the same run's limit, and pgtrail's figures over
# native logical replication's (for latency, native's over pgtrail's: above 1 means pgtrail is
# better there too).
record_shares() {
    local r shares=$run_dir/shares.tsv
    : >"$shares"
    for ((r = 1; r <= runs; r++)); do
        awk -F'\t' -v r="$r" -v OFS='\t' '
            $3 == r { v[$1] = $4 }
            END {
                n = split("bulk_insert_changes_s:limit_insert_rows_s:bulk_insert_changes_s_share_of_limit " \
                          "bulk_update_changes_s:limit_update_rows_s:bulk_update_changes_s_share_of_limit " \
                          "small_changes_s:limit_insert_rows_s:small_changes_s_share_of_limit " \
                          "bulk_insert_changes_s:native_bulk_insert_changes_s:bulk_insert_vs_native " \
                          "bulk_update_changes_s:native_bulk_update_changes_s:bulk_update_vs_native " \
                          "bulk_delete_changes_s:native_bulk_delete_changes_s:bulk_delete_vs_native " \
                          "small_changes_s:native_small_changes_s:small_vs_native " \
                          "native_lat_low_p50_ms:lat_low_p50_ms:lat_low_p50_vs_native " \
                          "native_lat_low_p99_ms:lat_low_p99_ms:lat_low_p99_vs_native " \
                          "native_lat_high_p50_ms:lat_high_p50_ms:lat_high_p50_vs_native " \
                          "native_lat_high_p99_ms:lat_high_p99_ms:lat_high_p99_vs_native " \
                          "rules_filter_bulk_insert_changes_s:bulk_insert_changes_s:rules_filter_insert_vs_mirror " \
                          "rules_filter_bulk_update_changes_s:bulk_update_changes_s:rules_filter_update_vs_mirror " \
                          "rules_filter_bulk_delete_changes_s:bulk_delete_changes_s:rules_filter_delete_vs_mirror " \
                          "rules_history_bulk_insert_changes_s:bulk_insert_changes_s:rules_history_insert_vs_mirror " \
                          "rules_history_bulk_update_changes_s:bulk_update_changes_s:rules_history_update_vs_mirror " \
                          "rules_history_bulk_delete_changes_s:bulk_delete_changes_s:rules_history_delete_vs_mirror", pairs, " ")
                for (i = 1; i <= n; i++) {
                    split(pairs[i], kv, ":")
                    if ((kv[1] in v) && v[kv[2]] > 0) print kv[3], "ratio", r, v[kv[1]] / v[kv[2]]
                }
            }' "$metrics" >>"$shares"
    done
    cat "$shares" >>"$metrics"
}

row() { printf '%-46s %16s   %-36s %s\n' "$@"; }
tp_row() { # label key [share-key]
    local share=""
    [[ -n ${3:-} ]] && share="$(awk -v x="$(median_of "$3")" 'BEGIN { printf "%.0f%%", x * 100 }')"
    row "$1" "$(commas "$(median_of "$2")")" "[$(values_of "$2" "%.0f")]" "$share"
}
# shellcheck disable=SC2059 # the format is the caller's, e.g. %.1f
num_row() { row "$1" "$(printf "$3" "$(median_of "$2")")" "[$(values_of "$2" "$3")]" ""; }
native_row() { # label key ratio-key: native's figure, and pgtrail / native in the last column
    row "$1" "$(commas "$(median_of "$2")")" "[$(values_of "$2" "%.0f")]" \
        "$(awk -v x="$(median_of "$3")" 'BEGIN { if (x != "") printf "pgtrail/native %.2f", x }')"
}
pcts() { # key-prefix: median p50/p95/p99
    printf '%.1f/%.1f/%.1f' "$(median_of "$1_p50_ms")" "$(median_of "$1_p95_ms")" "$(median_of "$1_p99_ms")"
}
latency_rows() { # label key (lat_low|lat_high) note: pgtrail's percentiles, its rate, native's beside
    row "$1 p50/p95/p99 ms" "$(pcts "$2")" "[p99: $(values_of "$2_p99_ms" %.1f)]" ""
    num_row "  achieved changes/s$3" "$2_achieved_changes_s" "%.0f"
    row "  native logical replication" "$(pcts "native_$2")" "[p99: $(values_of "native_$2_p99_ms" %.1f)]" \
        "$(awk -v a="$(median_of "$2_p50_vs_native")" -v b="$(median_of "$2_p99_vs_native")" 'BEGIN { printf "native/pgtrail p50 %.2f, p99 %.2f", a, b }')"
}

machine_info() {
    cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem_gb=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
    pg_version=$(q_src postgres "SHOW server_version")
    rdkafka_version=$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null || echo unknown)
    git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [[ -z $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]] || git_rev+="+local changes"
}

report() {
    local label_low label_high hi_note=""
    label_low="latency @$(commas "$lat_low_rate")/s"
    label_high="latency @$(commas "$lat_high_rate")/s"
    (($(lat_rows_per_txn "$lat_high_rate") > 1)) && hi_note=" ($(lat_rows_per_txn "$lat_high_rate")-row txns)"
    echo
    echo "pgtrail benchmark, $stamp$( ((smoke)) && echo ' (SMOKE: tiny sizes, figures meaningless)')"
    echo "machine: $(nproc) CPUs ($cpu_model), ${mem_gb} GB RAM, load at start $load_start; PostgreSQL $pg_version, librdkafka $rdkafka_version; pgtrail $git_rev"
    echo "all on one machine: both PostgreSQL clusters, the dev broker (librdkafka mock, topic of $partitions partitions, lz4), producer, consumer, pgbench"
    echo "PostgreSQL settings (both clusters): $(joined ", " "${pg_settings[@]}"); autovacuum and fsync at their defaults"
    echo "runs: $runs (medians; runs listed in order)"
    echo
    row scenario median runs "% of limit; pgtrail/native"
    if [[ $only == load ]]; then
        load_report_rows
        echo
        load_note
        return
    fi
    if [[ $only == overhead ]]; then
        overhead_rows
        echo
        overhead_note
        return
    fi
    if [[ $only == rules ]]; then
        local step
        for step in insert update delete; do
            tp_row "bulk $step $(commas "$bulk_rows"), mirror (changes/s)" bulk_${step}_changes_s
        done
        rules_report_rows
        echo
        rules_note
        return
    fi
    bulk_report_rows
    rules_report_rows
    if [[ $only == bulk ]]; then
        num_row "producer peak RSS MB during bulk" producer_rss_bulk_mb "%.1f"
        num_row "consumer peak RSS MB during bulk" consumer_rss_bulk_mb "%.1f"
        num_row "producer CPU s per 100k changes, bulk" producer_cpu_s_per_100k_bulk "%.2f"
        num_row "consumer CPU s per 100k changes, bulk" consumer_cpu_s_per_100k_bulk "%.2f"
        echo
        bulk_note
        return
    fi
    tp_row "small txns $(commas "$small_txns") (changes/s)" small_changes_s small_changes_s_share_of_limit
    tp_row "  pgbench TPS alone on the source" small_pgbench_tps
    native_row "  native logical replication (changes/s)" native_small_changes_s small_vs_native
    tp_row "    pgbench TPS alone on the source" native_small_pgbench_tps
    latency_rows "$label_low" lat_low ""
    latency_rows "$label_high" lat_high "$hi_note"
    overhead_rows
    num_row "producer peak RSS MB (whole run)" producer_rss_mb "%.1f"
    num_row "  during bulk (insert, update, delete)" producer_rss_bulk_mb "%.1f"
    num_row "consumer peak RSS MB (whole run)" consumer_rss_mb "%.1f"
    num_row "  during bulk (insert, update, delete)" consumer_rss_bulk_mb "%.1f"
    num_row "producer CPU s per 100k changes, bulk" producer_cpu_s_per_100k_bulk "%.2f"
    num_row "  small txns" producer_cpu_s_per_100k_small "%.2f"
    num_row "consumer CPU s per 100k changes, bulk" consumer_cpu_s_per_100k_bulk "%.2f"
    num_row "  small txns" consumer_cpu_s_per_100k_small "%.2f"
    load_report_rows
    echo
    echo "latency: source clock_timestamp() at INSERT to a deferred trigger at the consumer's commit on the destination (same clock);"
    overhead_note
    load_note
    bulk_note
    rules_note
}

rules_report_rows() {
    local mode step
    for mode in filter history; do
        for step in insert update delete; do
            row "rules $mode: bulk $step (changes/s)" "$(commas "$(median_of rules_${mode}_bulk_${step}_changes_s)")" \
                "[$(values_of rules_${mode}_bulk_${step}_changes_s "%.0f")]" \
                "$(awk -v x="$(median_of rules_${mode}_${step}_vs_mirror)" 'BEGIN { if (x != "") printf "x mirror %.2f", x }')"
        done
        num_row "  consumer peak RSS MB" rules_${mode}_consumer_rss_mb "%.1f"
    done
}

rules_note() {
    echo "rules: the bulk phases on a table per mode, after the mirror's scenarios, one consumer per rules file alone on the cores;"
    echo "  filter = where emp_id % 2 = 0 (the other half's changes are guarded deletes with tombstones), history = one row per change;"
    echo "  'x mirror' = the mode's rate over mirroring's in the same run."
}

bulk_report_rows() {
    tp_row "limit: COPY + guarded upsert, new rows/s" limit_insert_rows_s
    tp_row "limit: COPY + guarded upsert, updates/s" limit_update_rows_s
    local step
    for step in insert update delete; do
        if [[ $step == delete ]]; then
            tp_row "bulk $step $(commas "$bulk_rows") (changes/s)" bulk_${step}_changes_s
        else
            tp_row "bulk $step $(commas "$bulk_rows") (changes/s)" bulk_${step}_changes_s bulk_${step}_changes_s_share_of_limit
        fi
        native_row "  native logical replication" native_bulk_${step}_changes_s bulk_${step}_vs_native
    done
    row "source txns, s (i/u/d): captured table" \
        "$(printf '%.1f/%.1f/%.1f' "$(median_of bulk_insert_source_txn_s)" "$(median_of bulk_update_source_txn_s)" "$(median_of bulk_delete_source_txn_s)")" "" ""
    row "  bare table (native's source)" \
        "$(printf '%.1f/%.1f/%.1f' "$(median_of native_bulk_insert_source_txn_s)" "$(median_of native_bulk_update_source_txn_s)" "$(median_of native_bulk_delete_source_txn_s)")" "" ""
}

bulk_note() {
    echo "bulk and small: time from the source commit (bulk) or pgbench's start (small) until the destination's rows match, polled every 100 ms."
    echo "native: PostgreSQL's publication/subscription at their defaults (its apply worker commits with synchronous_commit = off),"
    echo "  same clusters, databases of its own, measured alike before pgtrail's programs start."
}

overhead_rows() {
    num_row "trigger overhead INSERT ratio" ovh_insert_ratio "%.2f"
    num_row "  captured INSERT TPS" ovh_insert_tps_captured "%.0f"
    num_row "  uncaptured INSERT TPS" ovh_insert_tps_plain "%.0f"
    num_row "  ratio with the producer stopped" ovh_insert_trigger_only_ratio "%.2f"
    num_row "trigger overhead UPDATE ratio" ovh_update_ratio "%.2f"
    num_row "  captured UPDATE TPS" ovh_update_tps_captured "%.0f"
    num_row "  uncaptured UPDATE TPS" ovh_update_tps_plain "%.0f"
    num_row "  ratio with the producer stopped" ovh_update_trigger_only_ratio "%.2f"
}

load_report_rows() {
    tp_row "plain COPY pipe $(commas "$load_rows") rows (rows/s)" load_pipe_rows_s
    tp_row "db_setup --snapshot $(commas "$load_rows") rows (rows/s)" load_rows_s
    num_row "  share of the plain pipe" load_share_of_pipe "%.2f"
    num_row "  db_setup peak RSS MB" load_rss_mb "%.1f"
    num_row "longest writer wait, $(commas "$stall_rows")-row load, ms" load_writer_max_wait_ms "%.1f"
    num_row "  writer p99 during that load, ms" load_writer_p99_ms "%.1f"
    num_row "  longest writer wait outside the load, ms" load_writer_max_outside_ms "%.1f"
}

load_note() {
    echo "load: the pipe is psql COPY (SELECT ...) TO STDOUT | psql COPY ... FROM STDIN into a fresh table with the same primary key;"
    echo "  db_setup --snapshot runs with producer and consumer running; writer waits are pgbench -l latencies of single-row UPDATEs"
    echo "  (8 clients) of the table being loaded, for the transactions that ended while db_setup ran."
}

overhead_note() {
    echo "trigger overhead: $ovh_pairs x ${ovh_s}s per table and operation, 8 clients, alternating order; producer running (and then"
    echo "  stopped: 'ratio with the producer stopped' is the trigger's own cost), consumer stopped; before the overhead"
    echo "  and load scenarios both databases are VACUUM ANALYZEd and checkpointed (the bulk's dead rows cleaned first);"
}

write_json() {
    local json=$out_dir/bench-$stamp.json
    ((!smoke)) || json=$out_dir/bench-$stamp-smoke.json
    mkdir -p "$out_dir"
    jq -n --rawfile m "$metrics" \
        --arg stamp "$stamp" --argjson smoke "$smoke" --argjson runs "$runs" \
        --arg nproc "$(nproc)" --arg cpu "$cpu_model" --arg mem "$mem_gb" --arg load "$load_start" \
        --arg pg "$pg_version" --arg rdkafka "$rdkafka_version" --arg rev "$git_rev" \
        --arg settings "$(printf '%s\n' "${pg_settings[@]}")" \
        --argjson params "$(jq -n --argjson bulk_rows "$bulk_rows" --argjson small_txns "$small_txns" \
            --argjson small_clients "$small_clients" --argjson lat_low_rate "$lat_low_rate" \
            --argjson lat_low_s "$lat_low_s" --argjson lat_high_rate "$lat_high_rate" \
            --argjson lat_high_s "$lat_high_s" --argjson ovh_rows "$ovh_rows" --argjson ovh_s "$ovh_s" \
            --argjson ovh_pairs "$ovh_pairs" --argjson limit_rows "$limit_rows" --argjson partitions "$partitions" \
            --argjson load_rows "$load_rows" --argjson stall_rows "$stall_rows" \
            '$ARGS.named')" \
        '
        def median: sort | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2]
                           else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        {
          timestamp: $stamp, smoke: ($smoke == 1), runs: $runs,
          machine: { nproc: ($nproc | tonumber), cpu_model: $cpu, memory_gb: ($mem | tonumber),
                     load_average_at_start: $load, postgresql: $pg, librdkafka: $rdkafka, pgtrail: $rev },
          postgresql_settings: ($settings | split("\n") | map(select(length > 0))),
          parameters: $params,
          notes: {
            latency: "source clock_timestamp() at INSERT to a deferred constraint trigger at the consumer commit on the destination",
            trigger_overhead: "ratio = median of paired captured/uncaptured pgbench TPS; ovh_*_ratio with the producer running, ovh_*_trigger_only_* with it stopped; the consumer stopped in both",
            quiesce: "before the trigger-overhead and load scenarios both databases are VACUUM ANALYZEd and checkpointed; latency runs first, before the bulk",
            throughput: "bulk: from the source commit; small: from pgbench start; until the destination fingerprint matches, polled every 100 ms",
            share_of_limit: "per run, throughput / the same run destination limit (inserts vs new rows, updates vs updates)",
            rules: "rules_filter_*, rules_history_*: the bulk phases on a table of each mode own applied under a rules file (filter: where emp_id % 2 = 0; history mode), one consumer alone; *_vs_mirror: over the same run bulk figure",
            native: "native_*: PostgreSQL publication/subscription at their defaults between the same clusters, measured alike; *_vs_native: pgtrail / native for throughput, native / pgtrail for latency (above 1: pgtrail better)"
          },
          metrics: ($m | split("\n") | map(select(length > 0) | split("\t"))
                    | reduce .[] as $r ({}; .[$r[0]].unit = $r[1] | .[$r[0]].values += [($r[3] | tonumber)])
                    | map_values(. + { median: (.values | median) }))
        }' >"$json"
    say "results: ${json#"$repo"/}"
}

share_note() { awk -v x="$(median_of "$1_changes_s_share_of_limit")" 'BEGIN { printf "%.0f%% of limit", x * 100 }'; }

plot() {
    local tp=$run_dir/throughput.dat lat=$run_dir/latency.dat png=$out_dir/bench.png
    {
        printf '"limit: new rows" %s 2 ""\n' "$(median_of limit_insert_rows_s)"
        printf '"limit: updates" %s 2 ""\n' "$(median_of limit_update_rows_s)"
        printf '"bulk insert" %s 1 "%s"\n' "$(median_of bulk_insert_changes_s)" "$(share_note bulk_insert)"
        printf '"bulk update" %s 1 "%s"\n' "$(median_of bulk_update_changes_s)" "$(share_note bulk_update)"
        printf '"bulk delete" %s 1 ""\n' "$(median_of bulk_delete_changes_s)"
        printf '"native: insert" %s 4 ""\n' "$(median_of native_bulk_insert_changes_s)"
        printf '"native: update" %s 4 ""\n' "$(median_of native_bulk_update_changes_s)"
        printf '"native: delete" %s 4 ""\n' "$(median_of native_bulk_delete_changes_s)"
        printf '"small txns" %s 1 "%s"\n' "$(median_of small_changes_s)" "$(share_note small)"
        printf '"native: small" %s 4 ""\n' "$(median_of native_small_changes_s)"
        printf '"pgbench TPS" %s 3 ""\n' "$(median_of small_pgbench_tps)"
    } >"$tp"
    {
        local who key rate r
        for rate in low high; do
            for who in "" native_; do
                key=${who}lat_$rate
                [[ $rate == low ]] && r=$lat_low_rate || r=$lat_high_rate
                printf '"%s@%s changes/s" %s %s %s\n' "${who:+native }" "$(commas "$r")" \
                    "$(median_of "${key}_p50_ms")" "$(median_of "${key}_p95_ms")" "$(median_of "${key}_p99_ms")"
            done
        done
    } >"$lat"
    gnuplot -e "throughput='$tp'; latency='$lat'; out='$png'; subtitle='$stamp, $runs run(s), $(nproc) CPUs, PostgreSQL $pg_version$( ((smoke)) && echo ', SMOKE sizes')'" \
        "$sql_dir/plot.gp" 2>"$run_dir/gnuplot.log" || die "gnuplot failed: $(cat "$run_dir/gnuplot.log")"
    say "plot: ${png#"$repo"/}"
}

# ---------------------------------------------------------------------------- main

started=$(now_us)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
say "logs: ${run_dir#"$repo"/}; load average $load_start$( ((smoke)) && echo '; smoke sizes')"
ensure_tools
if [[ -n ${BENCH_BUILD_DIR:-} ]]; then
    [[ -x $build/producer && -x $build/consumer ]] || die "no programs in BENCH_BUILD_DIR=$build"
else
    build_programs
fi
start_stack
machine_info
for ((run = 1; run <= runs; run++)); do run_once; done
record_shares
report | tee "$run_dir/report.txt"
write_json
[[ -n $only ]] || plot
say "done in $(secs "$started" "$(now_us)")s"
