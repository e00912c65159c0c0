# Shell helpers shared by scripts/bench.sh and scripts/soak.sh, which start their own
# PostgreSQL clusters and dev broker. Source it; it defines functions and pg_bin only.

# PostgreSQL refuses to run as root: the clusters belong to the postgres system user.
as_pg() {
    if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The newest installed PostgreSQL's binaries.
pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first free port from $1 on, in steps of 2 (the scripts take ports in source/dest pairs).
free_port() {
    local p=$1
    while port_busy "$p"; do ((p += 2)); done
    echo "$p"
}

# Alive and not a zombie. (bash reaps its exited children by itself, so their /proc entry
# can vanish between the two tests.)
alive() { [[ -r /proc/$1/stat ]] && [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) =~ ^[^Z] ]]; }
