#!/usr/bin/env bash
# The local pgtrail stack without Docker: a source and a destination PostgreSQL cluster from
# Debian's packages plus the dev broker (librdkafka's mock cluster, tools/dev_broker.cpp).
#
#   scripts/stack.sh up              start what is not running, write $STACK_DIR/env
#   scripts/stack.sh down [--purge]  stop what up started (and programs in pids/*.pid);
#                                    --purge also deletes the state directory
#   scripts/stack.sh status          show what runs (exit 0 only if everything does)
#   scripts/stack.sh env             print the path of the env file to source
#   scripts/stack.sh broker CMD...   send a command to the dev broker (with
#                                    PGTRAIL_STACK_BROKERS=3: `fail 1 2`, `up 1`, ...; see
#                                    pgtrail_dev_broker --help) and show its answer
#
# Environment: PGTRAIL_STACK_DIR (default <repo>/.stack), PGTRAIL_SOURCE_PORT (5433),
# PGTRAIL_DEST_PORT (5434), PGTRAIL_DEV_BROKER (<repo>/build/pgtrail_dev_broker),
# PGTRAIL_STACK_PARTITIONS (12), PGTRAIL_STACK_BROKERS (1; 3 to rehearse a broker loss).
#
# The dev broker keeps its data in memory only: after it restarts the topic is empty, so
# offsets stored in the destination point past its end. Start over with `down --purge`.
# It keeps about 5 MB per partition, hence many partitions, and the env file's
# CDC_PRODUCER_FLAGS make the producer hold back while the consumer lags (README, Operations:
# local window).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack_dir=$(realpath -m "${PGTRAIL_STACK_DIR:-$repo/.stack}")
src_port=${PGTRAIL_SOURCE_PORT:-5433}
dst_port=${PGTRAIL_DEST_PORT:-5434}
broker_bin=${PGTRAIL_DEV_BROKER:-$repo/build/pgtrail_dev_broker}
topic=cdc_events
partitions=${PGTRAIL_STACK_PARTITIONS:-12}
brokers=${PGTRAIL_STACK_BROKERS:-1}
env_file=$stack_dir/env
broker_pid_file=$stack_dir/broker.pid
broker_addr_file=$stack_dir/broker.addr
broker_commands=$stack_dir/broker.in
marker=$stack_dir/.pgtrail-stack
timeout_s=30

die() {
    echo "stack: $*" >&2
    exit 1
}
say() { echo "stack: $*"; }

# PostgreSQL refuses to run as root, so root hands the clusters to the postgres system user.
as_pg() {
    if ((EUID == 0)); then
        # From /, as root's working directory is often closed to postgres.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# The binaries matching an existing data directory, else the newest installed major version.
pg_bin() {
    local data=$1 dir
    if [[ -f $data/PG_VERSION && -x /usr/lib/postgresql/$(<"$data/PG_VERSION")/bin/pg_ctl ]]; then
        echo "/usr/lib/postgresql/$(<"$data/PG_VERSION")/bin"
        return
    fi
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [[ -x $dir/pg_ctl ]]; then
        echo "$dir"
    elif command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
    else
        die "PostgreSQL server binaries not found (run scripts/install-deps.sh)"
    fi
}

# Alive and not a zombie: killed children of a non-reaping init linger as zombies.
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# The pid recorded in FILE if that process still runs. A process younger than the file
# is a stranger that got a recycled pid, e.g. after a reboot.
owned_pid() {
    local file=$1 pid age file_age
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    # Never init or the like, whatever a stray pid file says.
    [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) && alive "$pid" || return 1
    age=$(ps -o etimes= -p "$pid" | tr -d ' ')
    file_age=$(($(date +%s) - $(stat -c %Y "$file")))
    ((age + 1 >= file_age)) || return 1
    echo "$pid"
}

stop_pid() {
    local pid=$1 name=$2 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout_s * 10; i++)); do
        alive "$pid" || {
            say "stopped $name (pid $pid)"
            return
        }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    say "killed $name (pid $pid): it ignored SIGTERM for ${timeout_s}s"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_running() { [[ -f $1/PG_VERSION ]] && as_pg "$(pg_bin "$1")/pg_ctl" status -D "$1" >/dev/null 2>&1; }

# The port a running cluster really listens on (line 4 of postmaster.pid).
pg_port() { sed -n 4p "$1/postmaster.pid" 2>/dev/null; }

pg_up() {
    local name=$1 data=$2 port=$3 log=$stack_dir/logs/$1.log bin i
    if pg_running "$data"; then
        [[ $(pg_port "$data") == "$port" ]] ||
            die "$name PostgreSQL already runs on port $(pg_port "$data"), not $port; run 'scripts/stack.sh down' first"
        say "$name PostgreSQL already running on 127.0.0.1:$port"
        return
    fi
    bin=$(pg_bin "$data")
    if [[ ! -f $data/PG_VERSION ]]; then
        rm -rf "$data" # an initdb that died halfway leaves a directory initdb refuses
        mkdir -p "$data"
        if ((EUID == 0)); then chown postgres: "$data"; fi
        as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$log.initdb" 2>&1 ||
            die "initdb for $name failed, see $log.initdb"
        # TCP only: no socket directory to own or to outgrow the 107-byte socket path limit.
        printf '%s\n' "listen_addresses = '127.0.0.1'" "unix_socket_directories = ''" \
            >>"$data/postgresql.conf"
    fi
    touch "$log"
    if ((EUID == 0)); then chown postgres: "$log"; fi
    as_pg "$bin/pg_ctl" start -D "$data" -l "$log" -o "-p $port" -w -t "$timeout_s" >/dev/null ||
        die "$name PostgreSQL did not start, last lines of $log:"$'\n'"$(tail -n 5 "$log")"
    for ((i = 0; i < timeout_s * 10; i++)); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && {
            say "$name PostgreSQL listening on 127.0.0.1:$port"
            return
        }
        sleep 0.1
    done
    die "$name PostgreSQL on port $port does not answer after ${timeout_s}s, see $log"
}

broker_up() {
    local log=$stack_dir/logs/broker.log pid i
    if pid=$(owned_pid "$broker_pid_file") && [[ -s $broker_addr_file ]]; then
        say "dev broker already running on $(<"$broker_addr_file") (pid $pid)"
        return
    fi
    if [[ -n $pid ]]; then stop_pid "$pid" "dev broker without address file"; fi
    rm -f "$broker_addr_file" "$broker_pid_file" "$broker_commands"
    mkfifo "$broker_commands"
    # setsid: a Ctrl-C in the terminal that ran `up` must not take the broker down later.
    # Its stdin is the command pipe, opened read-write so that it never sees end of file.
    setsid "$broker_bin" --address-file "$broker_addr_file" --brokers "$brokers" \
        --topic "$topic:$partitions" --topic "${topic}_dlq:1" <>"$broker_commands" >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$broker_pid_file"
    for ((i = 0; i < timeout_s * 10; i++)); do
        if [[ -s $broker_addr_file ]]; then
            say "dev broker listening on $(<"$broker_addr_file") (pid $pid, in-memory: a restart empties the topic)"
            return
        fi
        alive "$pid" || die "dev broker exited, last lines of $log:"$'\n'"$(tail -n 5 "$log")"
        sleep 0.1
    done
    die "dev broker wrote no address after ${timeout_s}s, see $log"
}

cmd_up() {
    [[ $src_port != "$dst_port" ]] || die "source and destination ports are both $src_port"
    mkdir -p "$stack_dir/logs" "$stack_dir/pids"
    touch "$marker"
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 || die "no 'postgres' system user to run PostgreSQL as (install the postgresql package)"
        runuser -u postgres -- test -x "$stack_dir" ||
            die "user postgres cannot enter $stack_dir; set PGTRAIL_STACK_DIR to a directory it can reach"
    fi
    # Check everything before starting anything, so a failure leaves nothing half started.
    local name port data
    for name in source dest; do
        if [[ $name == source ]]; then port=$src_port data=$stack_dir/src; else port=$dst_port data=$stack_dir/dst; fi
        if ! pg_running "$data" && port_busy "$port"; then
            die "port $port ($name) is taken by another program; free it or set PGTRAIL_$([[ $name == source ]] && echo SOURCE || echo DEST)_PORT"
        fi
    done
    owned_pid "$broker_pid_file" >/dev/null || [[ -x $broker_bin ]] ||
        die "dev broker not built: $broker_bin (cmake --build build --target pgtrail_dev_broker)"

    pg_up source "$stack_dir/src" "$src_port"
    pg_up dest "$stack_dir/dst" "$dst_port"
    broker_up

    cat >"$env_file.tmp" <<EOF
# Written by scripts/stack.sh up. Use: source $env_file
export CDC_SOURCE_URL=postgresql://postgres@127.0.0.1:$src_port/postgres
export CDC_DEST_URL=postgresql://postgres@127.0.0.1:$dst_port/postgres
export CDC_BROKERS=$(<"$broker_addr_file")
export CDC_TOPIC=$topic
# For the producer: the dev broker's window (README, Operations: local window).
export CDC_PRODUCER_FLAGS="-X compression.type=zstd --max-group-lag 8000"
EOF
    mv "$env_file.tmp" "$env_file"
    local shown=${env_file#"$PWD"/}
    echo
    echo "Stack is up. In your shell:"
    echo "  source $shown"
    echo "  psql \"\$CDC_SOURCE_URL\"     # source; \$CDC_DEST_URL for the destination"
    echo "Stop it with: $([[ $PWD == "$repo" ]] && echo scripts || echo "$repo/scripts")/stack.sh down"
}

cmd_down() {
    local purge=0 f pid name data
    case ${1:-} in
        "") ;;
        --purge) purge=1 ;;
        *) die "down takes only --purge, got '$1'" ;;
    esac
    if [[ ! -d $stack_dir ]]; then
        say "nothing to stop ($stack_dir does not exist)"
        return
    fi
    # Clients first, so they can finish cleanly while their databases and broker still run.
    for f in "$stack_dir"/pids/*.pid; do
        [[ -e $f ]] || continue
        name=$(basename "$f" .pid)
        if pid=$(owned_pid "$f"); then stop_pid "$pid" "$name"; fi
        rm -f "$f"
    done
    if pid=$(owned_pid "$broker_pid_file"); then
        stop_pid "$pid" "dev broker"
    else
        say "dev broker not running"
    fi
    rm -f "$broker_pid_file" "$broker_addr_file" "$broker_commands" "$env_file"
    for name in source dest; do
        data=$stack_dir/$([[ $name == source ]] && echo src || echo dst)
        if pg_running "$data"; then
            as_pg "$(pg_bin "$data")/pg_ctl" stop -D "$data" -m fast -w -t "$timeout_s" >/dev/null
            say "stopped $name PostgreSQL"
        else
            say "$name PostgreSQL not running"
        fi
    done
    if ((purge)); then
        # Only a directory this script created: PGTRAIL_STACK_DIR could point anywhere.
        [[ -f $marker ]] || die "not purging $stack_dir: it was not created by scripts/stack.sh"
        rm -rf "$stack_dir"
        say "removed $stack_dir"
    fi
}

cmd_status() {
    local ok=0 name data pid f
    for name in source dest; do
        data=$stack_dir/$([[ $name == source ]] && echo src || echo dst)
        if pg_running "$data"; then
            echo "$name PostgreSQL: running on 127.0.0.1:$(pg_port "$data")"
        else
            echo "$name PostgreSQL: not running"
            ok=1
        fi
    done
    if pid=$(owned_pid "$broker_pid_file") && [[ -s $broker_addr_file ]]; then
        echo "dev broker: running on $(<"$broker_addr_file") (pid $pid)"
    else
        echo "dev broker: not running"
        ok=1
    fi
    for f in "$stack_dir"/pids/*.pid; do
        [[ -e $f ]] || continue
        if pid=$(owned_pid "$f"); then
            echo "$(basename "$f" .pid): running (pid $pid)"
        else
            echo "$(basename "$f" .pid): not running"
        fi
    done
    [[ -f $env_file ]] && echo "env file: $env_file"
    return "$ok"
}

cmd_broker() {
    local log=$stack_dir/logs/broker.log lines i
    if ! owned_pid "$broker_pid_file" >/dev/null || [[ ! -p $broker_commands ]]; then
        die "no dev broker running; run 'scripts/stack.sh up' first"
    fi
    (($#)) || die "broker needs a command, e.g. 'fail 1 2' (see pgtrail_dev_broker --help)"
    lines=$(wc -l <"$log")
    echo "$*" >"$broker_commands"
    # The answer is the broker's next line of output.
    for ((i = 0; i < timeout_s * 10; i++)); do
        if (($(wc -l <"$log") > lines)); then
            tail -n +"$((lines + 1))" "$log" | head -n 1
            return
        fi
        sleep 0.1
    done
    die "the dev broker did not answer, see $log"
}

cmd_env() {
    [[ -f $env_file ]] || die "no env file at $env_file; run 'scripts/stack.sh up' first"
    echo "$env_file"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down "${@:2}" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    broker) cmd_broker "${@:2}" ;;
    *)
        echo "usage: scripts/stack.sh up | down [--purge] | status | env | broker CMD..." >&2
        exit 2
        ;;
esac
