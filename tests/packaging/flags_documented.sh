#!/usr/bin/env bash
# Every flag a program accepts must be in the README's Configuration table, and every flag
# that takes a value must appear (set or commented out) in the example config.
# Usage: flags_documented.sh BUILD_DIR REPO_DIR
set -euo pipefail
build="$1"
repo="$2"
readme="$repo/README.md"
example="$repo/config/pgtrail.example.toml"
failed=0
for program in db_setup producer consumer db_verify; do
    # Option lines of --help: "  --name TYPE ..." or "  -X TEXT ..." (descriptions are
    # indented further and never start with a dash).
    while read -r flag takes_value; do
        case "$flag" in --help | --version | --config) continue ;; esac
        if ! grep -qF -- "| \`$flag" "$readme"; then
            echo "$program $flag: not in README's Configuration table" >&2
            failed=1
        fi
        key="${flag#--}"
        key="${key#-}"
        if [[ -n "$takes_value" ]] && ! grep -qE "^#? ?$key = " "$example"; then
            echo "$program $flag: not in config/pgtrail.example.toml" >&2
            failed=1
        fi
    done < <("$build/$program" --help |
        sed -nE 's/^  (-h,)?(--[a-z0-9-]+|-X)( ([A-Z]+)([ :=]|$))?.*/\2 \4/p')
done
exit $failed
