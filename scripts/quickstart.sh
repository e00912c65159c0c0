#!/usr/bin/env bash
# One command from a fresh Debian machine to a working pipeline: installs the dependencies,
# builds, starts the local stack (scripts/stack.sh), captures the seed's employees table,
# runs producer and consumer, replays the seed's INSERT/UPDATE/DELETE on the source and waits
# until the destination shows the same rows. Safe to run again: every run adds new demo rows.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
started_in=$PWD
cd "$repo"
run_dir=run/$(date +%Y%m%d-%H%M%S)
sync_timeout_s=30
columns="emp_id, first_name, last_name, dob, city, salary"
select_sql="SELECT $columns FROM employees ORDER BY emp_id"

step() { printf '\n==> %s\n' "$*"; }
die() {
    echo "quickstart: $*" >&2
    exit 1
}
psql_src() { psql -X -q -v ON_ERROR_STOP=1 "$CDC_SOURCE_URL" "$@"; }
psql_dst() { psql -X -q -v ON_ERROR_STOP=1 "$CDC_DEST_URL" "$@"; }

# Runs SQL on the source and shows it, so the output doubles as a transcript to copy from.
source_sql() {
    echo "source> $1" >&2
    psql_src -At -c "$1"
}

gone() { [[ $(ps -o stat= -p "$1" 2>/dev/null || true) =~ ^($|Z) ]]; }

# A producer or consumer left by an earlier run is replaced: the build may have changed it.
stop_previous() {
    local name=$1 file=$pids_dir/$1.pid pid i
    [[ -f $file ]] || return 0
    pid=$(<"$file")
    rm -f "$file"
    # Only if the pid still belongs to our program, not to a process that inherited it.
    [[ $pid =~ ^[0-9]+$ && $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"/build/$name "* ]] ||
        return 0
    echo "stopping the $name of an earlier run (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 300; i++)); do
        gone "$pid" && return 0
        sleep 0.1
    done
    die "the $name of an earlier run (pid $pid) ignores SIGTERM; stop it and run again"
}

start_program() {
    local name=$1 log=$run_dir/$1.log
    stop_previous "$name"
    # setsid: the programs outlive this script and a Ctrl-C in its terminal; stack.sh down
    # stops them through their pid files.
    setsid "$repo/build/$name" "${@:2}" </dev/null >"$log" 2>&1 &
    echo $! >"$pids_dir/$name.pid"
    echo "$name started (pid $!), log: $log"
}

check_running() {
    local name pid
    for name in producer consumer; do
        pid=$(<"$pids_dir/$name.pid")
        if gone "$pid"; then
            echo "quickstart: $name exited; last lines of $run_dir/$name.log:" >&2
            tail -n 20 "$run_dir/$name.log" >&2
            exit 1
        fi
    done
}

mkdir -p "$run_dir"

step "Installing dependencies (scripts/install-deps.sh)"
scripts/install-deps.sh

step "Building (log: $run_dir/build.log)"
# Only what the demo runs: the tests take most of the build time and are not needed here.
targets=(producer consumer db_setup db_verify pgtrail_dev_broker)
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release &&
    cmake --build build -j2 --target "${targets[@]}"; } >"$run_dir/build.log" 2>&1; then
    tail -n 30 "$run_dir/build.log" >&2
    die "build failed, full log: $run_dir/build.log"
fi
echo "built producer, consumer, db_setup, db_verify in build/"

step "Starting the local stack (scripts/stack.sh up)"
scripts/stack.sh up
env_file=$(scripts/stack.sh env)
# shellcheck source=/dev/null
source "$env_file"
pids_dir=$(dirname "$env_file")/pids

step "Capturing the demo table public.employees (build/db_setup --demo)"
build/db_setup --demo

step "Starting producer and consumer"
# The dev broker keeps about 5 MB per partition: hold back while the consumer lags.
# shellcheck disable=SC2086 # CDC_PRODUCER_FLAGS is a list of flags
start_program producer ${CDC_PRODUCER_FLAGS:-}
# When a group's last member leaves, the dev broker waits session.timeout.ms (pgtrail's
# default: 10 s) before it hands the partitions to a newcomer; a rerun should not wait that long.
start_program consumer -X session.timeout.ms=6000

step "Changing rows on the source"
insert="INSERT INTO employees (first_name, last_name, dob, city, salary) VALUES"
alice=$(source_sql "$insert ('Alice', 'Williams', '1995-07-20', 'Boston', 90000) RETURNING emp_id")
bob=$(source_sql "$insert ('Bob', 'Smith', '1988-02-11', 'Chicago', 75000) RETURNING emp_id")
source_sql "UPDATE employees SET salary = 95000 WHERE emp_id = $alice"
source_sql "DELETE FROM employees WHERE emp_id = $bob"

step "Waiting up to ${sync_timeout_s}s for the destination to match"
matched=0
start_ns=$(date +%s%N)
deadline_ns=$((start_ns + sync_timeout_s * 1000000000))
for ((i = 1; $(date +%s%N) < deadline_ns; i++)); do
    want=$(psql_src -At -c "$select_sql")
    # The destination table may lag behind or be locked by the consumer: keep polling.
    got=$(psql_dst -At -c "$select_sql" 2>/dev/null || true)
    if [[ $got == "$want" ]]; then
        matched=1
        elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
        printf 'destination matches the source after %d.%01ds\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))
        break
    fi
    ((i % 5)) || check_running
    sleep 0.2
done

step "Source employees"
psql_src -c "$select_sql"
step "Destination employees (its extra _cdc_ts, _cdc_seq columns left out)"
psql_dst -c "$select_sql" || true

if ((!matched)); then
    check_running
    echo "quickstart: the destination did not match the source within ${sync_timeout_s}s." >&2
    echo "Logs: $run_dir/producer.log, $run_dir/consumer.log" >&2
    exit 1
fi

step "Comparing every captured table (build/db_verify)"
verify_rc=0
build/db_verify || verify_rc=$?

env_shown=${env_file#"$repo"/}
printf '\n==> Done. Producer and consumer keep running. Try it yourself:\n'
[[ $started_in == "$repo" ]] || echo "  cd $repo"
cat <<EOF
  source $env_shown
  psql "\$CDC_SOURCE_URL" -c "$insert ('Alice', 'Williams', '1995-07-20', 'Boston', 90000)"
  psql "\$CDC_SOURCE_URL" -c "UPDATE employees SET salary = 95000 WHERE emp_id = $alice"
  psql "\$CDC_SOURCE_URL" -c "DELETE FROM employees WHERE emp_id = $bob"
  psql "\$CDC_DEST_URL" -c 'SELECT * FROM employees'
  build/db_verify                 # compares source and destination row by row
  build/db_verify --status        # producer position, consumer lag, newest applied change
Logs: $run_dir/producer.log, $run_dir/consumer.log
Stop everything: scripts/stack.sh down   (add --purge to delete the databases too)
EOF

case $verify_rc in
    0) ;;
    1) die "db_verify found differences between source and destination" ;;
    *) die "db_verify failed (exit $verify_rc)" ;;
esac
