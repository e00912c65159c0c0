#!/usr/bin/env bash
# `cmake --install` must put what a package ships where a package would put it, and every
# installed program must answer --version. Usage: install_layout.sh BUILD_DIR VERSION
set -euo pipefail
build="$1"
version="$2"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
failed=0
expect() {
    if [[ ! -e "$prefix/$1" ]]; then
        echo "missing after install: $1" >&2
        failed=1
    fi
}
for program in db_setup producer consumer db_verify; do
    expect "bin/$program"
    if [[ -x "$prefix/bin/$program" ]]; then
        got="$("$prefix/bin/$program" --version)"
        [[ "$got" == "$version" ]] || { echo "$program --version printed '$got', not $version" >&2; failed=1; }
    fi
done
expect share/pgtrail/sql/triggers/capture.sql
expect share/pgtrail/sql/dest/bookkeeping.sql
expect share/pgtrail/sql/roles.sql
expect share/pgtrail/nightly-sync.sh
expect share/doc/pgtrail/examples/pgtrail.example.toml
[[ -x "$prefix/share/pgtrail/nightly-sync.sh" ]] || { echo "nightly-sync.sh is not executable" >&2; failed=1; }
exit $failed
