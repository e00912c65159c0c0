#!/usr/bin/env bash
# Builds and tests pgtrail on Debian 13 "trixie" (GCC 14, libpqxx 7.10, CLI11 2.4, PostgreSQL 17)
# from a Debian 12 machine, the way a new user there would: a minimal trixie chroot, the
# project's own scripts/install-deps.sh inside it, the README's build, then the tests.
#
# Usage: scripts/test-debian13.sh [--smoke | --mixed] [extra ctest arguments]
#   (none)    the whole suite, PostgreSQL 17 on both sides
#   --smoke   the unit, replication and types tests only (what CI runs)
#   --mixed   types_test with PostgreSQL 15 on one side and 17 on the other, both ways; 15 is
#             the host's /usr/lib/postgresql/15, mounted read-only (trixie has no 15)
#
# The chroot is made once with debootstrap from the host's Debian mirror and reused from
# ${PGTRAIL_CHROOT_DIR:-/var/cache/pgtrail/trixie} (remove it to start over); the build tree
# (/build, made anew each run) and its ccache stay inside it. Needs root for debootstrap, mount and chroot.
# Whatever the script mounts, and every process left running inside the chroot, is
# unmounted and stopped when it exits, whether the tests pass or not.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

repo="$(cd "$(dirname "$0")/.." && pwd)"
root="$(realpath -m "${PGTRAIL_CHROOT_DIR:-/var/cache/pgtrail/trixie}")"
host_pg15=/usr/lib/postgresql/15
mode=full
case "${1:-}" in
--smoke | --mixed) mode="${1#--}" && shift ;;
-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
esac

((EUID == 0)) || { echo "test-debian13: run as root (debootstrap, mount, chroot)" >&2; exit 2; }
if [[ $mode == mixed && ! -x $host_pg15/bin/postgres ]]; then
    echo "test-debian13: --mixed needs PostgreSQL 15 on this machine ($host_pg15)" >&2
    exit 2
fi

# Trixie is another suite of the archive this machine already installs from.
debian_mirror() {
    local uri=""
    [[ -r /etc/apt/sources.list.d/debian.sources ]] &&
        uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
    [[ -z $uri && -r /etc/apt/sources.list ]] &&
        uri="$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)"
    echo "${PGTRAIL_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

create_chroot() {
    if ! command -v debootstrap >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
    fi
    # A half-made tree from an interrupted run is never reused: build beside, then rename.
    if findmnt -rn -o TARGET | grep -q "^$root"; then
        echo "test-debian13: something is still mounted under $root; unmount it first" >&2
        exit 3
    fi
    rm -rf "$root.partial" "$root"
    mkdir -p "$(dirname "$root")"
    echo "test-debian13: creating the trixie chroot in $root (once)"
    debootstrap --variant=minbase trixie "$root.partial" "$(debian_mirror)" >"$root.log" ||
        { echo "test-debian13: debootstrap failed, see $root.log" >&2; exit 3; }
    mv "$root.partial" "$root"
    touch "$root/.pgtrail-chroot-ready"
}
[[ -e $root/.pgtrail-chroot-ready ]] || create_chroot

mounted=()
created=()
cleanup() {
    set +e
    # Whatever still runs with the chroot as its root (postgres clusters of a failed test,
    # a hung build) was started by this script.
    local pid pids=()
    for pid in /proc/[0-9]*; do
        [[ "$(readlink "$pid/root" 2>/dev/null)" == "$root" ]] && pids+=("${pid#/proc/}")
    done
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null
        sleep 2
        kill -KILL "${pids[@]}" 2>/dev/null
    fi
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
    done
    for ((i = ${#created[@]} - 1; i >= 0; i--)); do rmdir "${created[i]}" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mount_in PATH-IN-CHROOT MOUNT-ARGUMENTS...
mount_in() {
    local target="$root$1"
    shift
    [[ -d $target ]] || { mkdir -p "$target" && created+=("$target"); }
    mount "$@" "$target"
    mounted+=("$target")
}
mount_in /proc -t proc proc
mount_in /sys -t sysfs -o ro sysfs
mount_in /dev --bind /dev
mount_in /dev/pts --bind /dev/pts
# PostgreSQL's dynamic shared memory lives in /dev/shm; the chroot gets its own.
mount_in /dev/shm -t tmpfs -o mode=1777,nosuid,nodev shm
mount_in /src --bind "$repo"
cp /etc/resolv.conf "$root/etc/resolv.conf"

extra_env=()
if [[ $mode == mixed ]]; then
    mount_in $host_pg15 --bind -o ro $host_pg15
    mount_in /usr/share/postgresql/15 --bind -o ro /usr/share/postgresql/15
    # Bookworm's 15 links a few libraries trixie has only in newer versions (ICU 72, LDAP 2.5,
    # libunistring 2): copy just those, under their own directory.
    libs=/opt/pgtrail-host-pg15-libs
    rm -rf "$root$libs" && mkdir -p "$root$libs"
    chroot "$root" /sbin/ldconfig -p >"$root$libs.have"
    for lib in $(ldd $host_pg15/bin/postgres $host_pg15/bin/initdb | awk '$3 ~ /^\// { print $3 }' | sort -u); do
        grep -q "^[[:space:]]$(basename "$lib") " "$root$libs.have" || cp -L "$lib" "$root$libs/"
    done
    rm "$root$libs.have"
    extra_env=("LD_LIBRARY_PATH=$libs")
fi

# What runs inside, as a new user would type it there.
inside="$(
    cat <<'INSIDE'
mode="$1"
shift
bash /src/scripts/install-deps.sh
# Not a project dependency: keeps rebuilds of the cached chroot quick.
command -v ccache >/dev/null || apt-get install -y -qq --no-install-recommends ccache >/dev/null
echo "test-debian13: $(. /etc/os-release && echo "$PRETTY_NAME"), $(g++ --version | head -1)," \
    "libpqxx $(pkg-config --modversion libpqxx), PostgreSQL $(ls /usr/lib/postgresql | xargs)"
# /src may be another checkout than last time, whose files can be older than the objects
# built from the previous one, so make would keep stale objects: start from an empty tree
# and let ccache make the rebuild quick.
rm -rf /build
cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    >/dev/null
cmake --build /build -j2
cd /build
case "$mode" in
full) ctest --output-on-failure "$@" ;;
smoke) ctest --output-on-failure -R 'unit|replication|types' "$@" ;;
mixed)
    pg15=/usr/lib/postgresql/15/bin
    echo "test-debian13: the host's $("$pg15/postgres" --version), mounted read-only"
    echo "test-debian13: source PostgreSQL 15, destination 17"
    PGTRAIL_TEST_PG_BIN_SOURCE=$pg15 ctest --output-on-failure -R types "$@"
    echo "test-debian13: source PostgreSQL 17, destination 15"
    PGTRAIL_TEST_PG_BIN_DEST=$pg15 ctest --output-on-failure -R types "$@"
    ;;
esac
INSIDE
)"
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH="$PATH" CI="${CI:-}" \
    CCACHE_DIR=/var/cache/ccache "${extra_env[@]}" \
    /bin/bash -euo pipefail -c "$inside" test-debian13 "$mode" "$@" </dev/null
