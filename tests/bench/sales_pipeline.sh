#!/usr/bin/env bash
# Benchmark of the sales pipeline queries at scale against the running local stack (deploy/local/stack up).
# Not a test: it prints figures. It seeds one tenant with --scale opportunities (default 100,000) and another with
# 1,000 (as the service's own role, under RLS), then drives through the gateway, at fixed concurrency for a fixed
# time: ListOpportunities filtered by pipeline and stage (first page of 50), ListOpportunities over a close-date
# month ordered by close date, and GetForecast of a month. The ratio large/small shows whether the cost grows with
# the data (index-backed keyset pages: about 1; the forecast reads every deal of the month, so it grows with them).
#   usage: tests/bench/sales_pipeline.sh [--seconds S] [--concurrency N] [--scale N]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=10
concurrency=4
scale=100000
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--concurrency N] [--scale N]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-sales-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tenant="bench$(date +%s)"

seed() { # tenant rows
    local tok ids pipeline s0 s1 s2 s3
    tok=$("$repo/deploy/local/stack" token --tenant "$1" --role admin --ttl 3600)
    read -r pipeline s0 s1 s2 s3 _ < <("$bench" --token "$tok" --print-pipeline)
    psql -q -v ON_ERROR_STOP=1 "$CRM_SALES_DB_URL" >/dev/null <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$1', true);
INSERT INTO opportunities (tenant_id, id, name, pipeline_id, stage_id, probability, amount_minor, currency,
                           expected_close_date, owner_id, create_time)
SELECT '$1', gen_random_uuid(), 'Deal ' || g, '$pipeline',
       (ARRAY['$s0', '$s1', '$s2', '$s3'])[1 + g % 4]::uuid, 10, g * 100, 'EUR', DATE '2030-01-01' + g % 730,
       'owner-' || g % 50, now() - g * interval '1 second'
FROM generate_series(1, $2) AS g;
COMMIT;
SQL
}
t0=$SECONDS
seed "${tenant}big" "$scale"
seed "${tenant}small" 1000
psql -q "$CRM_SALES_DB_ADMIN_URL" -c "ANALYZE opportunities" >/dev/null
echo "seeded $scale + 1000 opportunities in $((SECONDS - t0)) s" >&2
for size in small big; do
    tok=$("$repo/deploy/local/stack" token --tenant "${tenant}$size" --role admin --ttl 3600)
    for rpc in stage close forecast; do
        "$bench" --token "$tok" --rpc "$rpc" --concurrency "$concurrency" --seconds "$seconds" --label "$size" |
            tee -a "$work/results.jsonl"
    done
done
python3 - "$work/results.jsonl" "$scale" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["label"], r["rpc"]): r for r in rows}
print(f"\n{'query':<40}{'1k p50 ms':>12}{sys.argv[2] + ' p50 ms':>16}{'ratio':>8}{'1k rps':>10}{'big rps':>10}")
names = {"stage": "ListOpportunities pipeline+stage", "close": "ListOpportunities close-date month",
         "forecast": "GetForecast month"}
for rpc, name in names.items():
    s, b = by[("small", rpc)], by[("big", rpc)]
    ratio = b["p50_ms"] / s["p50_ms"] if s["p50_ms"] else float("nan")
    print(f"{name:<40}{s['p50_ms']:>12.2f}{b['p50_ms']:>16.2f}{ratio:>8.2f}{s['rps']:>10.0f}{b['rps']:>10.0f}")
PY
