#!/usr/bin/env bash
# Benchmark of the contacts write and read paths against the running local stack (deploy/local/stack up).
# Not a test: it prints figures. In one run it measures
#   1. CreateContact and GetContact through the gateway and directly to the service (crm-bench, closed loop,
#      fixed concurrency, fixed duration),
#   2. a pgbench baseline doing the same INSERTs the service does (contact row + outbox row in one transaction,
#      synchronous_commit on) against the same database as the service's own role,
# and prints throughput, p50/p99 and the ratios gateway/direct and direct/pgbench, plus idle and loaded RSS of the
# gateway, the service and PostgreSQL. Then, at scale: it seeds one tenant with --scale contacts (default 100,000)
# and another with 1,000, and drives ListContacts (keyset paging) and SearchContacts (prefix) on both; the ratio
# large/small shows whether the cost grows with the data (index-backed: about 1). Last, ConvertLead through the
# gateway (leads calls contacts twice per conversion: company and person) on a pool of --convert qualified leads.
#   usage: tests/bench/run.sh [--seconds S] [--concurrency N] [--scale N (0 = skip)] [--convert N (0 = skip)]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=10
concurrency=8
scale=100000
convert=2000
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        --convert) convert=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--concurrency N] [--scale N] [--convert N]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
command -v pgbench >/dev/null || PATH="/usr/lib/postgresql/15/bin:$PATH"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

tenant="bench$(date +%s)"
token=$("$repo/deploy/local/stack" token --tenant "$tenant" --role admin --ttl 3600)

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pg_rss_kb() { # postmaster and all its backends
    local total=0 pid
    for pid in $(pgrep -f "postgres" || true); do total=$((total + $(rss_kb "$pid"))); done
    echo "$total"
}
run_dir="${CRM_LOCAL_DIR:-$repo/.local}/run"
pid_gateway=$(cat "$run_dir/gateway.pid")
pid_contacts=$(cat "$run_dir/contacts.pid")
idle_gw=$(rss_kb "$pid_gateway") idle_svc=$(rss_kb "$pid_contacts") idle_pg=$(pg_rss_kb)

# Peak RSS while loaded, sampled every 200 ms in the background.
sample_peaks() {
    local gw=0 svc=0 pg=0 v
    while [[ ! -e $work/stop ]]; do
        v=$(rss_kb "$pid_gateway"); ((v > gw)) && gw=$v
        v=$(rss_kb "$pid_contacts"); ((v > svc)) && svc=$v
        v=$(pg_rss_kb); ((v > pg)) && pg=$v
        sleep 0.2
    done
    echo "$gw $svc $pg" >"$work/peaks"
}
sample_peaks &

run() { # mode rpc
    local args=(--target "$CRM_TEST_GATEWAY" --mode gateway --token "$token")
    [[ $1 == direct ]] && args=(--target "$CRM_TEST_CONTACTS" --mode direct --internal-key "$CRM_INTERNAL_KEY"
        --tenant "$tenant")
    "$bench" "${args[@]}" --rpc "$2" --concurrency "$concurrency" --seconds "$seconds" | tee -a "$work/results.jsonl"
}
run gateway create
run direct create
run gateway get
run direct get

# pgbench baseline: the same two INSERTs as CreateContact, as the service's role, under RLS, one transaction each.
pg_tenant="${tenant}pg"
cat >"$work/create.sql" <<SQL
\set n random(1, 2000000000)
BEGIN;
SELECT set_config('crm.tenant_id', '$pg_tenant', true);
INSERT INTO contacts (tenant_id, id, given_name, family_name, email, given_name_normalized, family_name_normalized,
                      full_name_normalized)
VALUES ('$pg_tenant', gen_random_uuid(), 'Bench', 'Load', 'bench.' || :n || '@load.example', 'bench', 'load',
        'bench load');
INSERT INTO crm_outbox (event_id, tenant_id, topic, aggregate_type, aggregate_id, aggregate_version, event_type,
                        envelope, published_at)
VALUES (gen_random_uuid(), '$pg_tenant', 'crm.bench.v1', 'contact', 'bench', 1, 'bench', '\x00', now());
COMMIT;
SQL
(cd "$work" && pgbench -n -c "$concurrency" -j 2 -T "$seconds" -l -f create.sql \
    "$CRM_CONTACTS_DB_URL" >"$work/pgbench.out" 2>&1) || { cat "$work/pgbench.out"; exit 1; }
tps=$(awk '/^tps/ {print $3; exit}' "$work/pgbench.out")
cat "$work"/pgbench_log.* | awk '{print $3/1000.0}' | sort -n >"$work/pg_lat"
count=$(wc -l <"$work/pg_lat")
p50=$(awk -v n="$count" 'NR == int(n*0.50+0.5) {print; exit}' "$work/pg_lat")
p99=$(awk -v n="$count" 'NR == int(n*0.99+0.5) {print; exit}' "$work/pg_lat")
printf '{"mode":"pgbench","rpc":"insert contact+outbox","concurrency":%s,"requests":%s,"rps":%s,"p50_ms":%s,"p99_ms":%s}\n' \
    "$concurrency" "$count" "$tps" "$p50" "$p99" | tee -a "$work/results.jsonl"

touch "$work/stop"
wait
read -r peak_gw peak_svc peak_pg <"$work/peaks"

# Scale: the same list and search calls on a tenant of $scale contacts and on one of 1,000.
seed() { # tenant rows — as the service's own role (RLS applies, the lookup trigger runs), then ANALYZE as owner
    psql -q -v ON_ERROR_STOP=1 "$CRM_CONTACTS_DB_URL" >/dev/null <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$1', true);
INSERT INTO contacts (tenant_id, id, given_name, family_name, email, given_name_normalized, family_name_normalized,
                      full_name_normalized, create_time, update_time)
SELECT '$1', gen_random_uuid(), 'Given' || i, 'Family' || (i % 5000), 'p' || i || '@scale.example',
       'given' || i, 'family' || (i % 5000), 'given' || i || ' family' || (i % 5000),
       now() - make_interval(secs => $2 - i), now() - make_interval(secs => $2 - i)
FROM generate_series(1, $2) AS i;
COMMIT;
SQL
    psql -q "$CRM_CONTACTS_DB_ADMIN_URL" -c "ANALYZE contacts" -c "ANALYZE contact_name_trigrams" >/dev/null
}
if ((scale > 0)); then
    t0=$SECONDS
    seed "${tenant}big" "$scale"
    seed "${tenant}small" 1000
    echo "seeded $scale + 1000 contacts in $((SECONDS - t0)) s" >&2
    for size in small big; do
        tok=$("$repo/deploy/local/stack" token --tenant "${tenant}$size" --role admin --ttl 3600)
        for rpc in list search; do
            "$bench" --target "$CRM_TEST_GATEWAY" --mode gateway --token "$tok" --rpc "$rpc" \
                --concurrency 4 --seconds "$seconds" | sed "s/\"mode\":\"gateway\"/\"mode\":\"$size\"/" |
                tee -a "$work/results.jsonl"
        done
    done
fi

# ConvertLead: a pool of qualified leads is prepared first (not timed); the run ends when the time is up or the pool
# is used up.
if ((convert > 0)); then
    "$bench" --target "$CRM_TEST_GATEWAY" --mode gateway --token "$token" --rpc convert --preload "$convert" \
        --concurrency "$concurrency" --seconds "$seconds" | tee -a "$work/results.jsonl"
fi

python3 - "$work/results.jsonl" "$idle_gw" "$idle_svc" "$idle_pg" "$peak_gw" "$peak_svc" "$peak_pg" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["mode"], r["rpc"]): r for r in rows}
print()
print(f"{'mode':9} {'rpc':24} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
for r in rows:
    print(f"{r['mode']:9} {r['rpc']:24} {r['concurrency']:>4} {float(r['rps']):9.0f} {float(r['p50_ms']):8.2f} "
          f"{float(r['p99_ms']):8.2f} {r.get('errors', 0):>6}")
print()
for rpc in ("create", "get"):
    g, d = by[("gateway", rpc)], by[("direct", rpc)]
    print(f"{rpc}: gateway/direct throughput {g['rps']/d['rps']:.2f}, p50 {g['p50_ms']/d['p50_ms']:.2f}, "
          f"p99 {g['p99_ms']/d['p99_ms']:.2f}; added p50 {g['p50_ms']-d['p50_ms']:.2f} ms")
if ("big", "list") in by:
    for rpc in ("list", "search"):
        b, sm = by[("big", rpc)], by[("small", rpc)]
        print(f"{rpc} at scale: p50 {b['p50_ms']:.2f} ms vs {sm['p50_ms']:.2f} ms (large/small {b['p50_ms']/sm['p50_ms']:.2f}), "
              f"p99 {b['p99_ms']:.2f} vs {sm['p99_ms']:.2f} ms")
pg = by[("pgbench", "insert contact+outbox")]
d = by[("direct", "create")]
print(f"create direct/pgbench throughput {d['rps']/float(pg['rps']):.2f}, p50 {d['p50_ms']/float(pg['p50_ms']):.2f}")
mb = lambda kb: f"{int(kb)/1024:.0f} MiB"
print(f"RSS idle -> loaded: gateway {mb(sys.argv[2])} -> {mb(sys.argv[5])}, contacts {mb(sys.argv[3])} -> "
      f"{mb(sys.argv[6])}, postgres (all processes) {mb(sys.argv[4])} -> {mb(sys.argv[7])}")
PY
