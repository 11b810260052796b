#!/usr/bin/env bash
# What sealing the personal fields of events costs the write path (crypto-shredding, common/personal_fields.hpp):
# CreateContact directly to the running stack's contacts service (this build: every ContactCreated seals the
# person's e-mail, names and phone under a data key created in the same transaction) against the same service built
# from a commit before sealing existed (OLD_BINARY, e.g. `git worktree add --detach /tmp/old c019745` and
# `cmake --build /tmp/old/build --target crm-contacts`), started beside it on other ports with the running process's
# environment. Both write into one preloaded tenant of the same database, interleaved (tests/bench/interleave.py:
# short alternating slices, several rounds, medians), with the same number of connections; failed calls are counted.
# --rpc list|get measures the read path instead (encryption at rest of personal columns, common/sealed_columns.hpp:
# every contact read probes its wrapped key and opens e-mail, phone and job title) against a binary from before that
# existed, reading the same rows (it returns the sealed values as they are: the cost of the statement without the
# key probe and the opening). A binary from before migration 0050 cannot create (contacts_create changed).
# Not a test: it prints figures.
#   usage: tests/bench/sealing.sh OLD_BINARY --tenant T --raw FILE [--seconds S] [--rounds R] [--concurrency N]
#                                 [--rpc create|list|get]
#   (preload the tenant first: tests/bench/create.sh preload --tenant T --count 100000)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
old=${1:?usage: $0 OLD_BINARY --tenant T --raw FILE}
shift
tenant="" raw="" seconds=5 rounds=5 concurrency=4 rpc=create
while (($#)); do
    case $1 in
        --tenant) tenant=$2; shift 2 ;;
        --raw) raw=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --rpc) rpc=$2; shift 2 ;;
        *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[[ -n $tenant && -n $raw && -x $old ]] || { echo "need OLD_BINARY (executable), --tenant and --raw" >&2; exit 2; }
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-bench"
pid=$(pgrep -f "$repo/build/services/contacts/crm-contacts" | head -1)
[[ -n $pid ]] || { echo "the stack's contacts service is not running" >&2; exit 1; }
work=$(mktemp -d)
old_port=$((${CRM_TEST_CONTACTS##*:} + 100))
tr '\0' '\n' </proc/"$pid"/environ | grep '^CRM_' |
    grep -v -E '^CRM_(GRPC_LISTEN|METRICS_LISTEN|MIGRATE_ON_START)=' >"$work/env"
{
    echo "CRM_GRPC_LISTEN=127.0.0.1:$old_port"
    echo "CRM_METRICS_LISTEN=127.0.0.1:$((old_port + 1000))"
    echo "CRM_MIGRATE_ON_START=false"
} >>"$work/env"
(
    set -a
    . "$work/env"
    set +a
    exec "$old"
) >"$work/old.log" 2>&1 &
old_pid=$!
trap 'kill "$old_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q '"serving"' "$work/old.log" && break; sleep 0.2; done
grep -q '"serving"' "$work/old.log" || { cat "$work/old.log" >&2; exit 1; }
common="--mode direct --internal-key $CRM_INTERNAL_KEY --tenant $tenant --concurrency $concurrency --seconds $seconds"
cat >"$work/plan.json" <<JSON
{"title": "$rpc direct, $concurrency connections: this build (sealed) vs before ($old)",
 "rounds": $rounds,
 "variants": [
   {"name": "sealed", "cmd": "$bench --target $CRM_TEST_CONTACTS $common --rpc $rpc"},
   {"name": "before", "cmd": "$bench --target 127.0.0.1:$old_port $common --rpc $rpc"}],
 "ratios": [
   {"name": "sealed / before throughput", "num": "sealed", "den": "before", "field": "rps"},
   {"name": "sealed / before p50", "num": "sealed", "den": "before", "field": "p50_ms"},
   {"name": "sealed - before p99 ms", "num": "sealed", "den": "before", "field": "p99_ms", "op": "diff"}]}
JSON
python3 "$repo/tests/bench/interleave.py" "$work/plan.json" --raw "$raw"
