#!/usr/bin/env bash
# pgtrail's soak: a steady mixed workload for a long time, to show that the footprint stays
# bounded (the producer prunes the log, the consumer prunes tombstones) and that the pipeline
# ends equal. Builds Release into build-soak/, starts its own two PostgreSQL clusters and a
# dev broker (ports apart from scripts/bench.sh's), runs db_setup, producer and consumer
# (--tombstone-retention 5m, so pruning happens within the run), drives 1,000 transactions/s
# of one change each with pgbench -R (half inserts of new rows, the rest updates and deletes
# of recent rows), samples every 30 s and prints a summary; ends with db_verify.
#
#   scripts/soak.sh [--minutes N] [--rate R]
#
#   --minutes N  how long pgbench writes (default 30)
#   --rate R     pgbench transactions per second, one change each (default 1000)
#
# Environment: SOAK_OUT (where the summary goes, default bench/results/soak-<date>.txt),
# SOAK_SOURCE_PORT and SOAK_DEST_PORT (default: the first free ports from 7533 and 7534),
# SOAK_TOMBSTONE_RETENTION (default 5m), SOAK_SAMPLE_S (default 30).
#
# Each sample: cdc.log rows and pg_total_relation_size, cdc.tombstones rows and size, and the
# apply lag: seconds from the newest applied change's source time to the sample (both
# clusters run on this machine's clock).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=$repo/build-soak

minutes=30
rate=1000
while (($#)); do
    case $1 in
        --minutes | --rate)
            [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "soak: $1 needs a positive integer" >&2; exit 2; }
            if [[ $1 == --minutes ]]; then minutes=$2; else rate=$2; fi
            shift 2
            ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
retention=${SOAK_TOMBSTONE_RETENTION:-5m}
sample_s=${SOAK_SAMPLE_S:-30}

stamp=$(date -u +%Y%m%d-%H%M%S)
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!README.md' || echo "+uncommitted")
run_dir=$repo/run/soak-$stamp
mkdir -p "$run_dir"
out=${SOAK_OUT:-$repo/bench/results/soak-$(date -u +%Y%m%d).txt}
samples=$run_dir/samples.tsv

say() { printf '%s soak: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
    printf '%s soak: FAILED: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
    exit 1
}

# as_pg, pg_bin, port_busy, free_port, alive
source "$repo/scripts/lib/local_clusters.sh"
psql_on() { # port sql
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d soak -c "$2"
}

# ---------------------------------------------------------------------------- teardown

stack_dir=$(mktemp -d /tmp/pgtrail-soak.XXXXXX)
chmod 755 "$stack_dir"
pids=()
clusters=()
cleanup() {
    local rc=$? pid data
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for data in "${clusters[@]}"; do as_pg "$pg_bin/pg_ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true; done
    cp "$stack_dir"/*.log "$run_dir/" 2>/dev/null || true
    rm -rf "$stack_dir"
    ((rc == 0)) || echo "soak: logs in ${run_dir#"$repo"/}" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------- stack

say "building Release into ${build#"$repo"/}"
{ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$build" -j2 --target producer consumer db_setup db_verify pgtrail_dev_broker; } \
    >"$run_dir/build.log" 2>&1 || { tail -n 30 "$run_dir/build.log" >&2; die "build failed"; }

start_cluster() { # name port
    local data=$stack_dir/$1
    mkdir -p "$data"
    ((EUID != 0)) || chown postgres: "$data" "$stack_dir"
    as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$run_dir/initdb-$1.log" 2>&1 ||
        die "initdb $1 failed"
    printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = ''" \
        "shared_buffers = 512MB" "max_wal_size = 4GB" "synchronous_commit = on" >>"$data/postgresql.conf"
    as_pg "$pg_bin/pg_ctl" start -D "$data" -l "$data.log" -o "-p $2" -w -t 60 >/dev/null ||
        die "$1 PostgreSQL did not start"
    clusters+=("$data")
    psql -X -q -h 127.0.0.1 -p "$2" -U postgres -d postgres -c "CREATE DATABASE soak"
}
src_port=${SOAK_SOURCE_PORT:-$(free_port 7533)}
dst_port=${SOAK_DEST_PORT:-$(free_port 7534)}
[[ $src_port != "$dst_port" ]] || dst_port=$(free_port $((src_port + 1)))
touch "$stack_dir/source.log" "$stack_dir/dest.log"
((EUID != 0)) || chown postgres: "$stack_dir"/*.log
start_cluster source "$src_port"
start_cluster dest "$dst_port"
src_url=postgresql://postgres@127.0.0.1:$src_port/soak
dst_url=postgresql://postgres@127.0.0.1:$dst_port/soak

# 32 partitions: the dev broker keeps about 5 MB per partition.
"$build/pgtrail_dev_broker" --address-file "$stack_dir/broker.addr" --topic soak:32 --topic soak_dlq:1 \
    </dev/null >"$stack_dir/broker.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 300; i++)); do [[ -s $stack_dir/broker.addr ]] && break; sleep 0.1; done
[[ -s $stack_dir/broker.addr ]] || die "dev broker wrote no address in 30 s"
brokers=$(<"$stack_dir/broker.addr")
say "stack up: source 127.0.0.1:$src_port, destination 127.0.0.1:$dst_port, dev broker $brokers"

psql_on "$src_port" "CREATE TABLE soak_items (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    v int NOT NULL, note text NOT NULL DEFAULT repeat('x', 100), at timestamptz NOT NULL DEFAULT now())"
"$build/db_setup" --source "$src_url" --dest "$dst_url" --brokers "$brokers" --topic soak \
    --table public.soak_items >"$run_dir/db_setup.log" 2>&1 || die "db_setup failed: $(tail -n 3 "$run_dir/db_setup.log")"

"$build/producer" --source "$src_url" --brokers "$brokers" --topic soak </dev/null >"$run_dir/producer.log" 2>&1 &
producer_pid=$!
pids+=("$producer_pid")
"$build/consumer" --dest "$dst_url" --brokers "$brokers" --topic soak --group soak \
    --tombstone-retention "$retention" </dev/null >"$run_dir/consumer.log" 2>&1 &
consumer_pid=$!
pids+=("$consumer_pid")

# ---------------------------------------------------------------------------- workload

cat >"$run_dir/workload.sql" <<'SQL'
\set op random(1, 10)
\set back random(0, 1000)
\if :op <= 5
INSERT INTO soak_items (v) VALUES (:op);
\elif :op <= 8
UPDATE soak_items SET v = v + 1, at = now() WHERE id = (SELECT max(id) FROM soak_items) - :back;
\else
DELETE FROM soak_items WHERE id = (SELECT max(id) FROM soak_items) - :back;
\endif
SQL
say "pgbench -R $rate for $minutes min (logs: ${run_dir#"$repo"/})"
"$pg_bin/pgbench" -h 127.0.0.1 -p "$src_port" -U postgres -n -f "$run_dir/workload.sql" \
    -c 4 -j 2 -R "$rate" -T $((minutes * 60)) -P 60 soak >"$run_dir/pgbench.log" 2>&1 &
pgbench_pid=$!
pids+=("$pgbench_pid")

sample() { # elapsed_s file
    local src dst
    src=$(psql_on "$src_port" "SELECT count(*) || E'\t' || pg_total_relation_size('cdc.log') FROM cdc.log")
    dst=$(psql_on "$dst_port" "SELECT (SELECT count(*) FROM cdc.tombstones) || E'\t' ||
        pg_total_relation_size('cdc.tombstones') || E'\t' ||
        coalesce(round(extract(epoch FROM clock_timestamp() - (SELECT max(_cdc_ts) FROM soak_items))::numeric, 2), 0)")
    printf '%s\t%s\t%s\n' "$1" "$src" "$dst" >>"$2"
}
check_alive() {
    alive "$producer_pid" || die "producer exited: $(tail -n 5 "$run_dir/producer.log")"
    alive "$consumer_pid" || die "consumer exited: $(tail -n 5 "$run_dir/consumer.log")"
}

printf 'elapsed_s\tlog_rows\tlog_bytes\ttombstone_rows\ttombstone_bytes\tlag_s\n' >"$samples"
start=$SECONDS
sample 0 "$samples"
while :; do
    sleep "$sample_s"
    # A sample after pgbench ended would measure the quiet since as lag.
    alive "$pgbench_pid" || break
    check_alive
    sample $((SECONDS - start)) "$samples"
    say "$(tail -n 1 "$samples" | awk -F'\t' '{ printf "%ss: log %s rows %.1f MB, tombstones %s rows %.1f MB, lag %s s", $1, $2, $3 / 1048576, $4, $5 / 1048576, $6 }')"
done
wait "$pgbench_pid" || die "pgbench failed: $(tail -n 5 "$run_dir/pgbench.log")"

# ---------------------------------------------------------------------------- convergence

say "pgbench done; waiting for the destination to catch up"
fingerprint="SELECT count(*) || ':' || coalesce(sum(v), 0) FROM soak_items"
want=$(psql_on "$src_port" "$fingerprint")
for ((i = 0; i < 600; i++)); do
    [[ $(psql_on "$dst_port" "$fingerprint") == "$want" ]] && break
    check_alive
    sleep 1
done
[[ $(psql_on "$dst_port" "$fingerprint") == "$want" ]] || die "destination did not catch up in 10 min"
# Written apart: once writes stop, the lag column only measures the quiet since.
final=$run_dir/final.tsv
sample $((SECONDS - start)) "$final"
"$build/db_verify" --source "$src_url" --dest "$dst_url" >"$run_dir/db_verify.log" 2>&1 ||
    die "db_verify failed: $(tail -n 5 "$run_dir/db_verify.log")"
for pid in "$consumer_pid" "$producer_pid"; do
    kill -TERM "$pid"
    wait "$pid" || die "a program exited non-zero on SIGTERM (pid $pid)"
done

# ---------------------------------------------------------------------------- summary

{
    echo "pgtrail soak $(date -u +%Y-%m-%dT%H:%MZ) at commit $commit"
    echo "host: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM," \
        "PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }'), dev broker, everything on one box"
    echo "workload: pgbench -R $rate -c 4 for $minutes min, one change per transaction (50% insert," \
        "30% update, 20% delete of recent rows); consumer --tombstone-retention $retention"
    grep -E "number of transactions actually processed|^tps" "$run_dir/pgbench.log" | sed 's/^/pgbench: /'
    echo "tombstones pruned by the consumer: $(grep -o 'pruned [0-9]*' "$run_dir/consumer.log" | awk '{ s += $2 } END { print s + 0 }')"
    echo
    awk -F'\t' 'NR > 1 {
            n++; for (c = 2; c <= 6; c++) { if (n == 1) first[c] = $c; if ($c > peak[c]) peak[c] = $c; last[c] = $c }
        }
        END {
            printf "%-22s %14s %14s %14s\n", "", "start", "peak", "end"
            printf "%-22s %14d %14d %14d\n", "cdc.log rows", first[2], peak[2], last[2]
            printf "%-22s %14.2f %14.2f %14.2f\n", "cdc.log MB", first[3] / 1048576, peak[3] / 1048576, last[3] / 1048576
            printf "%-22s %14d %14d %14d\n", "cdc.tombstones rows", first[4], peak[4], last[4]
            printf "%-22s %14.2f %14.2f %14.2f\n", "cdc.tombstones MB", first[5] / 1048576, peak[5] / 1048576, last[5] / 1048576
            printf "%-22s %14.2f %14.2f %14.2f\n", "apply lag s", first[6], peak[6], last[6]
        }' "$samples"
    awk -F'\t' '{ printf "after catching up (%s s): cdc.log %d rows %.2f MB, cdc.tombstones %d rows %.2f MB\n", $1, $2, $3 / 1048576, $4, $5 / 1048576 }' "$final"
    echo
    echo "db_verify: exit 0 ($(tail -n 1 "$run_dir/db_verify.log"))"
    echo
    echo "samples every ${sample_s} s while pgbench wrote:"
    column -t -s $'\t' "$samples"
} | tee "$out"
say "summary written to ${out#"$repo"/}"
