#!/usr/bin/env bash
# What the gateway adds to a call, measured in one run against the running local stack (deploy/local/stack up):
# GetContact directly to the contacts service (gRPC, identity signed as the gateway would), through the gateway over
# gRPC, and through the gateway over HTTP/JSON (GET /v1/contacts/{id}), each
#   1. at a fixed offered load (open loop, --rate calls/s, default 200: latency counts from when a call was due), and
#   2. at maximum throughput (closed loop, --concurrency workers, default 8),
# then prints p50/p99/throughput per path and the differences and ratios against the direct calls.
#   usage: tests/bench/gateway.sh [--seconds S] [--rate R] [--concurrency N]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=10
rate=200
concurrency=8
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--rate R] [--concurrency N]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tenant="bench$(date +%s)gw"
token=$("$repo/deploy/local/stack" token --tenant "$tenant" --role admin --ttl 3600)

run() { # path load
    local args
    case $1 in
        direct) args=(--target "$CRM_TEST_CONTACTS" --mode direct --internal-key "$CRM_INTERNAL_KEY" --tenant "$tenant") ;;
        grpc) args=(--target "$CRM_TEST_GATEWAY" --mode gateway --token "$token") ;;
        http) args=(--target "$CRM_TEST_GATEWAY_HTTP" --mode http --token "$token") ;;
    esac
    if [[ $2 == fixed ]]; then
        # Enough open-loop workers that a slow call does not delay the next ones.
        args+=(--rate "$rate" --concurrency 32)
    else
        args+=(--concurrency "$concurrency")
    fi
    "$bench" "${args[@]}" --rpc get --seconds "$seconds" --preload 200 |
        python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['path']='$1'; r['load']='$2'; print(json.dumps(r))" |
        tee -a "$work/results.jsonl"
}
# Interleaved so that the database and caches are in the same state for the three paths.
for load in fixed max; do
    for path in direct grpc http; do run "$path" "$load"; done
done

python3 - "$work/results.jsonl" "$rate" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["path"], r["load"]): r for r in rows}
names = {"direct": "direct to contacts (gRPC)", "grpc": "gateway, gRPC", "http": "gateway, HTTP/JSON"}
print()
print(f"{'GetContact':28} {'load':>10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
for load in ("fixed", "max"):
    for path in ("direct", "grpc", "http"):
        r = by[(path, load)]
        shown = f"{sys.argv[2]}/s open" if load == "fixed" else f"{r['concurrency']} closed"
        print(f"{names[path]:28} {shown:>10} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:>6}")
print()
for load in ("fixed", "max"):
    d = by[("direct", load)]
    for path in ("grpc", "http"):
        r = by[(path, load)]
        print(f"{load:5} {names[path]:20} vs direct: added p50 {r['p50_ms'] - d['p50_ms']:+.2f} ms "
              f"(x{r['p50_ms'] / d['p50_ms']:.2f}), added p99 {r['p99_ms'] - d['p99_ms']:+.2f} ms "
              f"(x{r['p99_ms'] / d['p99_ms']:.2f}), throughput x{r['rps'] / d['rps']:.2f}")
    g, h = by[("grpc", load)], by[("http", load)]
    print(f"{load:5} HTTP/JSON vs gRPC through the gateway: p50 {h['p50_ms'] - g['p50_ms']:+.2f} ms, "
          f"p99 {h['p99_ms'] - g['p99_ms']:+.2f} ms, throughput x{h['rps'] / g['rps']:.2f}")
PY
