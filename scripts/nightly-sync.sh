#!/usr/bin/env bash
# The nightly cross-database sync: producer --drain, then consumer --drain, then db_verify,
# each only if the one before succeeded. Everything the programs log goes to a dated file;
# stdout gets a one-screen summary. Exit code: that of the first step that failed (README:
# 1 db_verify found differences, 2 bad usage or configuration, 3 runtime failure), else 0.
#
# Usage: scripts/nightly-sync.sh [--config FILE] [--log-dir DIR] [--bin-dir DIR]
#   --config FILE  passed to all three programs (connection flags may instead come from
#                  CDC_SOURCE_URL, CDC_DEST_URL, CDC_BROKERS, CDC_TOPIC)
#   --log-dir DIR  where nightly-sync-YYYYMMDD-HHMMSS.log goes (default: $PGTRAIL_LOG_DIR or
#                  ./pgtrail-logs)
#   --bin-dir DIR  where producer, consumer and db_verify are (default: $PATH, then build/)
# Two runs never overlap: a second one exits 3 while the first holds DIR/nightly-sync.lock.
set -uo pipefail

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

config=()
log_dir="${PGTRAIL_LOG_DIR:-pgtrail-logs}"
bin_dir=""
while (($#)); do
    case "$1" in
        --config) (($# >= 2)) || usage; config=(--config "$2"); shift 2 ;;
        --log-dir) (($# >= 2)) || usage; log_dir="$2"; shift 2 ;;
        --bin-dir) (($# >= 2)) || usage; bin_dir="$2"; shift 2 ;;
        -h | --help) usage ;;
        *) echo "nightly-sync: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [[ -z "$bin_dir" ]]; then
    if command -v producer >/dev/null; then
        bin_dir="$(dirname "$(command -v producer)")"
    else
        bin_dir="$(cd "$(dirname "$0")/.." && pwd)/build"
    fi
fi
for program in producer consumer db_verify; do
    if [[ ! -x "$bin_dir/$program" ]]; then
        echo "nightly-sync: $bin_dir/$program not found; pass --bin-dir" >&2
        exit 2
    fi
done

mkdir -p "$log_dir" || { echo "nightly-sync: cannot create log dir $log_dir" >&2; exit 2; }
exec 9>"$log_dir/nightly-sync.lock"
if ! flock -n 9; then
    echo "nightly-sync: another sync holds $log_dir/nightly-sync.lock; not starting" >&2
    exit 3
fi

started_at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
log_file="$log_dir/nightly-sync-$(date -u +%Y%m%d-%H%M%S).log"
summary=()
status=0

# Runs one step with its output appended to the log file; sets step_output and step_seconds.
run_step() {
    local title="$1"
    shift
    local output start end
    output="$(mktemp)"
    printf '\n===== %s: %s\n' "$(date -u +%H:%M:%S)" "$title" >>"$log_file"
    start=$(date +%s%N)
    "$@" >"$output" 2>&1
    local code=$?
    end=$(date +%s%N)
    cat "$output" >>"$log_file"
    step_output="$(cat "$output")"
    rm -f "$output"
    step_seconds=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
    return $code
}

# The last line of a step's output matching a pattern, for the summary.
last_match() { grep -E "$1" <<<"$step_output" | tail -n 1; }

outcome() { (($1 == 0)) && echo "ok" || echo "FAILED (exit $1)"; }

run_step "producer --drain" "$bin_dir/producer" "${config[@]}" --drain
code=$?
published="$(last_match 'stopped; published [0-9]+ changes' | sed -E 's/.*published ([0-9]+) changes.*/\1/')"
summary+=("$(printf '  %-18s %-16s %s changes published in %s s' "producer --drain" \
    "$(outcome $code)" "${published:-?}" "$step_seconds")")
((code != 0)) && summary+=("      $(tail -n 1 <<<"$step_output")") && status=$code

if ((status == 0)); then
    run_step "consumer --drain" "$bin_dir/consumer" "${config[@]}" --drain
    code=$?
    applied_line="$(last_match 'stopped; applied [0-9]+ messages')"
    applied="$(sed -E 's/.*applied ([0-9]+) messages.*/\1/' <<<"$applied_line")"
    dead="$(sed -nE 's/.*, ([0-9]+) dead letters.*/\1/p' <<<"$applied_line")"
    summary+=("$(printf '  %-18s %-16s %s messages applied, %s dead letters, in %s s' \
        "consumer --drain" "$(outcome $code)" "${applied:-?}" "${dead:-?}" "$step_seconds")")
    ((code != 0)) && summary+=("      $(tail -n 1 <<<"$step_output")") && status=$code
fi

if ((status == 0)); then
    run_step "db_verify" "$bin_dir/db_verify" "${config[@]}"
    code=$?
    verdict="$(last_match '^(OK|DIFFERENCES): ')"
    summary+=("$(printf '  %-18s %-16s %s (%s s)' "db_verify" "$(outcome $code)" \
        "${verdict:-$(tail -n 1 <<<"$step_output")}" "$step_seconds")")
    # The tables that differ, as db_verify named them.
    while IFS= read -r line; do
        [[ -n "$line" ]] && summary+=("      $line")
    done < <(grep -E 'DIFFERENT|cannot compare' <<<"$step_output" | head -n 10)
    status=$code
fi

total=$(($(date -u +%s) - $(date -u -d "$started_at" +%s)))
{
    echo "pgtrail nightly sync, started $started_at"
    printf '%s\n' "${summary[@]}"
    if ((status == 0)); then
        echo "  result: OK in ${total} s"
    else
        echo "  result: FAILED with exit $status after ${total} s"
    fi
    echo "  log: $log_file"
} | tee -a "$log_file"
exit $status
