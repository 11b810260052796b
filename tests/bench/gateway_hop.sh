#!/usr/bin/env bash
# What the gateway's hop costs, against a plain proxy, measured interleaved in one run (tests/bench/interleave.py:
# short alternating slices, rotated order, several rounds, medians) on the running local stack:
#   direct        GetContact straight to the contacts service (gRPC, identity signed as the gateway would)
#   gateway       the same through the gateway (bearer JWT: authentication, policy, rate limit, signed identity)
#   nginx         the same through nginx grpc_pass (Debian's nginx, HTTP/2 both sides, upstream keep-alive), the
#                 baseline of "a proxy hop and nothing else"
# each at a fixed offered load (open loop: latency counts from each call's due time) and at maximum throughput
# (closed loop), the same connections and workers for every path, failed calls counted.
#   usage: tests/bench/gateway_hop.sh [--rounds N] [--seconds S] [--rate R] [--concurrency N] [--raw FILE]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=5 seconds=3 rate=500 concurrency=16 raw=""
while (($#)); do
    case $1 in
        --rounds) rounds=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --raw) raw=$2; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--seconds S] [--rate R] [--concurrency N] [--raw FILE]" >&2; exit 2 ;;
    esac
done
command -v nginx >/dev/null || {
    echo "nginx is missing: apt-get install -y --no-install-recommends nginx" >&2
    exit 1
}
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
work=$(mktemp -d)
nginx_port=$((${CRM_STACK_PORT_OFFSET:-0} + 50099))
cleanup() {
    [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# nginx as a plain gRPC proxy in front of the same contacts service: two workers (the machine's cores), HTTP/2 on
# both sides, upstream connections kept alive, no logging (the gateway logs every call; nginx is given the benefit).
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    upstream contacts { server $CRM_TEST_CONTACTS; keepalive 64; }
    server {
        listen 127.0.0.1:$nginx_port http2;
        location / { grpc_pass grpc://contacts; }
    }
}
CONF
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log"
for _ in $(seq 50); do [[ -f $work/nginx.pid ]] && break; sleep 0.1; done

tenant="bench$(date +%s)hop"
token=$("$repo/deploy/local/stack" token --tenant "$tenant" --role admin --ttl 7200)
common="--rpc get --seconds $seconds --preload 50"
direct="--mode direct --internal-key $CRM_INTERNAL_KEY --tenant $tenant"
fixed="--rate $rate --concurrency 32"
closed="--concurrency $concurrency"
cat >"$work/plan.json" <<PLAN
{"title": "GetContact: direct, through the gateway, through nginx grpc_pass", "rounds": $rounds,
 "variants": [
  {"name": "direct-fixed",  "cmd": "$bench --target $CRM_TEST_CONTACTS $direct $common $fixed"},
  {"name": "gateway-fixed", "cmd": "$bench --target $CRM_TEST_GATEWAY --mode gateway --token $token $common $fixed"},
  {"name": "nginx-fixed",   "cmd": "$bench --target 127.0.0.1:$nginx_port $direct $common $fixed"},
  {"name": "direct-max",    "cmd": "$bench --target $CRM_TEST_CONTACTS $direct $common $closed"},
  {"name": "gateway-max",   "cmd": "$bench --target $CRM_TEST_GATEWAY --mode gateway --token $token $common $closed"},
  {"name": "nginx-max",     "cmd": "$bench --target 127.0.0.1:$nginx_port $direct $common $closed"}],
 "ratios": [
  {"name": "gateway added p50 ms at $rate/s", "num": "gateway-fixed", "den": "direct-fixed", "field": "p50_ms", "op": "diff"},
  {"name": "nginx added p50 ms at $rate/s", "num": "nginx-fixed", "den": "direct-fixed", "field": "p50_ms", "op": "diff"},
  {"name": "gateway added p99 ms at $rate/s", "num": "gateway-fixed", "den": "direct-fixed", "field": "p99_ms", "op": "diff"},
  {"name": "nginx added p99 ms at $rate/s", "num": "nginx-fixed", "den": "direct-fixed", "field": "p99_ms", "op": "diff"},
  {"name": "gateway / direct throughput", "num": "gateway-max", "den": "direct-max", "field": "rps"},
  {"name": "nginx / direct throughput", "num": "nginx-max", "den": "direct-max", "field": "rps"},
  {"name": "gateway / nginx throughput", "num": "gateway-max", "den": "nginx-max", "field": "rps"}]}
PLAN
python3 "$repo/tests/bench/interleave.py" "$work/plan.json" --raw "${raw:-$work/raw.jsonl}"
