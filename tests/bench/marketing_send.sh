#!/usr/bin/env bash
# Benchmarks of marketing's send path and incremental segment maintenance against the running local stack
# (deploy/local/stack up; tests/bench/marketing_bench.cpp does the work). Not a test: it prints figures.
#   send: a send to a list of N consenting people (default 100,000; names and emails shaped like a tenant's,
#         tests/bench/names.hpp): messages per second accepted by the local SMTP server (Mailpit) and the marketing
#         process's RSS (VmRSS) sampled every second while it sends;
#   segments: 50 dynamic segments of different shapes, then E contact and lead events (default 20,000) produced at
#         once: events per second applied by marketing's consumer (crm_processed_events).
# Raw output goes to stdout (and, with --out DIR, to DIR/marketing-send.jsonl and DIR/marketing-segments.jsonl).
#   usage: tests/bench/marketing_send.sh [--people N] [--events E] [--only send|segments] [--out DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
people=100000
events=20000
only=""
out=""
while (($#)); do
    case $1 in
        --people) people=$2; shift 2 ;;
        --events) events=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--people N] [--events E] [--only send|segments] [--out DIR]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="$repo/build/tests/crm-marketing-bench"
[[ -x $bench ]] || { echo "missing $bench (cmake --build build --target crm-marketing-bench)" >&2; exit 1; }
pidfile="${CRM_LOCAL_DIR:-$repo/.local}/run/marketing.pid"
pid=$(head -n1 "$pidfile" 2>/dev/null | tr -dc 0-9)
[[ -n $pid && -r /proc/$pid/status ]] || { echo "marketing is not running ($pidfile)" >&2; exit 1; }
echo "# $(date -u +%FT%TZ) host: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MB"}' /proc/meminfo); marketing pid $pid" >&2

run() { # name args...
    local name=$1
    shift
    if [[ -n $out ]]; then
        mkdir -p "$out"
        "$bench" "$@" | tee "$out/marketing-$name.jsonl"
    else
        "$bench" "$@"
    fi
}
[[ $only == segments ]] || run send send "$people" "$pid"
[[ $only == send ]] || run segments segments "$events"
