#!/usr/bin/env bash
# Benchmark of the analytics KPI reads at scale against the running local stack (deploy/local/stack up).
# Not a test: it prints figures.
#
# Seeds two fresh tenants straight into the analytics read models (fact tables), as the database owner under
# row-level security (the tenant set per transaction), with one INSERT ... SELECT FROM generate_series per table:
# --scale opportunities (default 100,000) and 1,000, each with as many leads and half as many contacts. The facts are
# the ones the consumer writes for the real events: per lead LeadCreated, a first touch and for a third of them the
# conversion; per opportunity OpportunityCreated (a third linked to their converted lead, the rest with their own
# source), a stage change, and for 40 % a close (won or lost); creation times spread over two years (2025-2026).
# Seeding the tables directly takes seconds where publishing ~500,000 events through Kafka and the consumer (one
# transaction per event) would take about an hour on the 2-core host; the read path measured is the same.
#
# Then, through the gateway, closed loop at fixed concurrency for a fixed time: GetKpis over one month
# (--start/--days) and GetTimeSeries (deals won per day over the same month), for the small tenant and the big one;
# then GetKpis on the big tenant again while new facts arrive (--write-rate rows/s inserted for it, one transaction
# each, as the consumer does). The first call of each run (not timed in the percentiles) is printed as first_ms:
# with an in-memory cache it is the cold load. Prints p50/p99 per run and the big/small ratios.
# --restart-settle S: the first read after a start instead. After seeding, each tenant is read once (a cold load),
# then the analytics service is restarted with the binary it runs (tests/bench/restart_with.sh), and S seconds after
# it listens again one GetKpis of the big tenant is timed alone and printed (`first read after a restart`); the runs
# follow as usual.
#   usage: tests/bench/analytics_kpis.sh [--seconds S] [--concurrency N] [--scale N] [--write-rate R]
#                                        [--restart-settle S]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=10
concurrency=4
scale=100000
write_rate=20
restart_settle=
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        --write-rate) write_rate=$2; shift 2 ;;
        --restart-settle) restart_settle=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--concurrency N] [--scale N] [--write-rate R] [--restart-settle S]" >&2
           exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-analytics-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
work=$(mktemp -d)
writer=
trap '[[ -n $writer ]] && stop_writer; rm -rf "$work"' EXIT
tenant="akpi$(date +%s)"
db="$CRM_ANALYTICS_DB_ADMIN_URL"

seed() { # tenant n
    local t=$1 n=$2
    psql -q -v ON_ERROR_STOP=1 "$db" >/dev/null <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$t', true);
-- g -> creation time: two years spread evenly; day offsets from there.
CREATE TEMP TABLE g ON COMMIT DROP AS
SELECT g, timestamptz '2025-01-01' + (g::double precision / $n) * interval '730 days' AS t0,
       md5('$t/lead/' || g)::uuid AS lead_id, md5('$t/opp/' || g)::uuid AS opp_id
FROM generate_series(1, $n) AS g;
INSERT INTO analytics_record_versions (tenant_id, kind, record_id, version, event_id, occurred_at, created_at)
SELECT '$t', 'contact', md5('$t/contact/' || g)::uuid, 1, gen_random_uuid(), t0, t0 FROM g WHERE g % 2 = 0;
INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, source, campaign_id,
                                     owner_id, status, created_at, response_due_at)
SELECT '$t', lead_id, 1, gen_random_uuid(), t0, (ARRAY['web', 'event', 'partner', 'ads'])[1 + g % 4],
       'c' || g % 10, 'u' || g % 50, 'OPEN', t0, t0 + interval '4 hours'
FROM g;
INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, first_response_at)
SELECT '$t', lead_id, 2, gen_random_uuid(), t0 + (g % 8) * interval '1 hour', t0 + (g % 8) * interval '1 hour'
FROM g;
INSERT INTO analytics_lead_versions (tenant_id, lead_id, version, event_id, occurred_at, status, converted_at)
SELECT '$t', lead_id, 3, gen_random_uuid(), t0 + interval '2 days', 'CONVERTED', t0 + interval '2 days'
FROM g WHERE g % 3 = 0;
INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, pipeline_id,
    stage_id, stage_name, probability_bp, status, amount_minor, currency_code, owner_id, expected_close_at, created_at,
    lead_id, source, campaign_id)
SELECT '$t', opp_id, 1, gen_random_uuid(), t0 + interval '2 days', md5('$t/pipeline')::uuid::text,
       md5('$t/stage1')::uuid::text, 'Qualification', 1000, 'OPEN', 1000 + (g % 997) * 100,
       CASE WHEN g % 5 = 4 THEN 'USD' ELSE 'EUR' END, 'u' || g % 50, t0 + interval '32 days', t0 + interval '2 days',
       CASE WHEN g % 3 = 0 THEN lead_id::text END, CASE WHEN g % 3 <> 0 THEN 'direct' END,
       CASE WHEN g % 3 <> 0 THEN 'c' || g % 7 END
FROM g;
INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, stage_id,
    stage_name, probability_bp)
SELECT '$t', opp_id, 2, gen_random_uuid(), t0 + interval '9 days', md5('$t/stage2')::uuid::text, 'Proposal', 5000
FROM g;
INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at, stage_id,
    stage_name, probability_bp, status, closed_at)
SELECT '$t', opp_id, 3, gen_random_uuid(), t0 + interval '25 days',
       md5('$t/stage' || CASE WHEN g % 5 = 0 THEN 'won' ELSE 'lost' END)::uuid::text,
       CASE WHEN g % 5 = 0 THEN 'Closed won' ELSE 'Closed lost' END, CASE WHEN g % 5 = 0 THEN 10000 ELSE 0 END,
       CASE WHEN g % 5 = 0 THEN 'WON' ELSE 'LOST' END, t0 + interval '25 days'
FROM g WHERE g % 5 IN (0, 1);
COMMIT;
SQL
}

t0=$SECONDS
seed "${tenant}big" "$scale"
seed "${tenant}small" 1000
psql -q "$db" -c "ANALYZE analytics_record_versions, analytics_lead_versions, analytics_opportunity_versions" >/dev/null
rows=$(psql -tA "$CRM_TEST_PG_ANALYTICS_URL" -c "SELECT (SELECT count(*) FROM analytics_lead_versions
    WHERE tenant_id = '${tenant}big') + (SELECT count(*) FROM analytics_opportunity_versions
    WHERE tenant_id = '${tenant}big') + (SELECT count(*) FROM analytics_record_versions WHERE tenant_id = '${tenant}big')")
echo "seeded $scale + 1000 opportunities (big tenant: $rows fact rows) in $((SECONDS - t0)) s" >&2

run() { # size rpc label
    local tok
    tok=$("$repo/deploy/local/stack" token --tenant "${tenant}$1" --role analyst --ttl 3600)
    "$bench" --gateway "$CRM_TEST_GATEWAY" --token "$tok" --rpc "$2" --concurrency "$concurrency" \
        --seconds "$seconds" --label "$3" --start 2026-03-01 --days 30 --warmup 2 | tee -a "$work/results.jsonl"
}
once() { # size label: one GetKpis call alone; prints its time in ms
    local tok
    tok=$("$repo/deploy/local/stack" token --tenant "${tenant}$1" --role analyst --ttl 3600)
    "$bench" --gateway "$CRM_TEST_GATEWAY" --token "$tok" --rpc kpis --concurrency 1 --seconds 1 --label "$2" \
        --start 2026-03-01 --days 30 --warmup 1 | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["first_ms"])'
}
if [[ -n $restart_settle ]]; then
    # Earlier runs' tenants leave the warm-up list (as the superuser: the list is tenant-scoped), so that the warm-up
    # after the restart loads this run's two tenants only (a binary without the warm-up ignores the table).
    psql -q "$CRM_TEST_PG_ANALYTICS_URL" -c "DELETE FROM analytics_kpi_cache_tenants WHERE tenant_id LIKE 'akpi%'" \
        >/dev/null 2>&1 || true
    echo "first read before the restart (cold load): small $(once small prime) ms, big $(once big prime) ms" >&2
    run_dir="${CRM_LOCAL_DIR:-$repo/.local}/run"
    exe=$(readlink "/proc/$(cat "$run_dir/analytics.pid")/exe")
    exe=${exe% (deleted)}
    "$repo/tests/bench/restart_with.sh" analytics "$exe"
    sleep "$restart_settle"
    echo "first read after a restart (${restart_settle} s after it listened): big $(once big restarted) ms," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi
for size in small big; do
    for rpc in kpis series; do run "$size" "$rpc" "$size"; done
done

# New facts for the big tenant while it is read: one opportunity version per transaction, --write-rate per second.
# Killing psql does not stop a DO block running on the server, so the loop ends by itself (a deadline) and is also
# terminated by its application_name once the run is over.
writer_name="crm-bench-writer-${tenant}"
psql -q "$db" >/dev/null 2>&1 <<SQL &
SET application_name = '${writer_name}';
SELECT set_config('crm.tenant_id', '${tenant}big', false);
DO \$\$
DECLARE i integer := 0;
        deadline timestamptz := clock_timestamp() + interval '$((seconds + 60)) seconds';
BEGIN
    LOOP
        EXIT WHEN clock_timestamp() > deadline;
        i := i + 1;
        INSERT INTO analytics_opportunity_versions (tenant_id, opportunity_id, version, event_id, occurred_at,
            probability_bp)
        VALUES ('${tenant}big', md5('${tenant}big/opp/' || (1 + i % $scale))::uuid, 100 + i, gen_random_uuid(),
                timestamptz '2026-03-10' + i * interval '1 second', 2000 + i % 5000);
        COMMIT;
        PERFORM pg_sleep(1.0 / $write_rate);
    END LOOP;
END
\$\$;
SQL
writer=$!
sleep 1
run big kpis "big+writes"
stop_writer() {
    psql -qAt "$db" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '${writer_name}'" \
        >/dev/null 2>&1 || true
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
}
stop_writer
writer=

pid=$(cat "${CRM_LOCAL_DIR:-$repo/.local}/run/analytics.pid" 2>/dev/null || true)
[[ -n $pid ]] && echo "analytics RSS: $(($(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024)) MiB" >&2
curl -s "http://$CRM_TEST_ANALYTICS_METRICS/metrics" | grep '^crm_analytics_cache' | sed 's/^/  /' >&2 || true

python3 - "$work/results.jsonl" "$scale" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["label"], r["rpc"]): r for r in rows}
scale = int(sys.argv[2])
print(f"\n{'run':<44}{'req/s':>8}{'p50 ms':>10}{'p99 ms':>10}{'first ms':>10}{'errors':>8}")
names = {"kpis": "GetKpis, one month", "series": "GetTimeSeries, deals won per day, one month"}
for label, size in (("small", "1,000"), ("big", f"{scale:,}"), ("big+writes", f"{scale:,} + writes")):
    for rpc, name in names.items():
        r = by.get((label, rpc))
        if r:
            print(f"{name + ' @ ' + size:<44}{r['rps']:>8.1f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}"
                  f"{r['first_ms']:>10.1f}{r['errors']:>8}")
print()
for rpc, name in names.items():
    s, b = by[("small", rpc)], by[("big", rpc)]
    print(f"{name}: {scale // 1000}k / 1k  p50 x{b['p50_ms'] / s['p50_ms']:.2f}  p99 x{b['p99_ms'] / s['p99_ms']:.2f}"
          f"  throughput x{b['rps'] / s['rps']:.2f}  first call x{b['first_ms'] / s['first_ms']:.2f}")
PY
