#!/usr/bin/env bash
# Benchmark of GetCampaignPerformance against the running local stack (deploy/local/stack up). Not a test: it prints
# figures. Two tenants, seeded as the database owner (the service reads them as its app role under RLS):
#   large: 1,000,000 touches over 100 campaigns and 100,000 people, 100,000 deals (half open);
#   small:    10,000 touches in one campaign and 1,000 people, 1,000 deals (half open);
# the campaign asked about has 10,000 touches in both. Through the gateway (gRPC, ghz, closed loop), interleaved
# rounds of each tenant; prints p50/p99 per round and the ratio large / small of the medians (goal: <= 2). The seed
# ends with VACUUM ANALYZE (the steady state autovacuum reaches), so the campaign's touches are read index-only.
#   usage: tests/bench/marketing.sh [--seconds S] [--rounds R] [--concurrency N]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=10
rounds=3
concurrency=4
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--rounds R] [--concurrency N]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
ghz="${CRM_LOCAL_DIR:-$repo/.local}/tools/bin/ghz"
[[ -x $ghz ]] || { echo "missing $ghz (deploy/local/stack up installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stamp=$(date +%s)

seed() { # tenant campaigns people touches deals -> prints the measured campaign id
    local tenant=$1 campaigns=$2 people=$3 touches=$4 deals=$5
    psql -q -X -t -A -v ON_ERROR_STOP=1 "$CRM_TEST_PG_MARKETING_URL" <<SQL
BEGIN;
INSERT INTO campaigns (tenant_id, id, name, type, status, utm_campaign)
SELECT '$tenant', ('00000000-0000-0000-0001-' || lpad(to_hex(g), 12, '0'))::uuid, 'C' || g, 'EMAIL', 'ACTIVE', 'c' || g
FROM generate_series(1, $campaigns) g;
INSERT INTO audience (tenant_id, id, kind, source_version, create_time)
SELECT '$tenant', ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 'contact', 1, now()
FROM generate_series(1, $people) g;
INSERT INTO engagements (tenant_id, id, person_id, type, campaign_id, occur_time)
SELECT '$tenant', gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(to_hex(1 + g % $people), 12, '0'))::uuid,
       'link_clicked', ('00000000-0000-0000-0001-' || lpad(to_hex(1 + g % $campaigns), 12, '0'))::uuid,
       now() - (g % 80) * interval '1 day'
FROM generate_series(1, $touches) g;
INSERT INTO opportunities (tenant_id, id, contact_id, amount_minor, currency_code, state, version)
SELECT '$tenant', gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, 1000, 'EUR',
       CASE WHEN g % 2 = 0 THEN 'open' ELSE 'won' END, 1
FROM generate_series(1, $deals) g;
COMMIT;
VACUUM ANALYZE engagements;
VACUUM ANALYZE audience;
VACUUM ANALYZE opportunities;
SELECT '00000000-0000-0000-0001-000000000001';
SQL
}

large="bench${stamp}mkl"
small="bench${stamp}mks"
echo "seeding $large (1M touches) and $small (10k touches)..." >&2
campaign=$(seed "$large" 100 100000 1000000 100000)
seed "$small" 1 1000 10000 1000 >/dev/null

run() { # tenant
    local token
    token=$("$repo/deploy/local/stack" token --tenant "$1" --role analyst --ttl 3600)
    "$ghz" --insecure --import-paths "$repo/proto" --proto crm/marketing/v1/marketing.proto \
        --call crm.marketing.v1.MarketingService/GetCampaignPerformance \
        -m "{\"authorization\": \"Bearer $token\"}" -d "{\"campaign_id\": \"$campaign\"}" \
        -c "$concurrency" -z "${seconds}s" -O json "$CRM_TEST_GATEWAY" >"$work/$1.json"
    python3 - "$work/$1.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution", {})
print(json.dumps({"tenant": sys.argv[2], "count": r["count"], "rps": round(r["rps"], 1),
                  "p50_ms": round(lat.get(50, 0), 2), "p99_ms": round(lat.get(99, 0), 2), "codes": codes}))
PY
}

for ((i = 1; i <= rounds; i++)); do
    run "$large"
    run "$small"
done | tee "$work/rounds.jsonl"
python3 - "$work/rounds.jsonl" "$large" "$small" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(t, k): return statistics.median(r[k] for r in rows if r["tenant"] == t)
for k in ("p50_ms", "p99_ms"):
    print(f"median {k}: 1M touches {med(sys.argv[2], k):.2f}, 10k touches {med(sys.argv[3], k):.2f}, "
          f"ratio {med(sys.argv[2], k) / med(sys.argv[3], k):.2f}")
PY
psql -q -X -v ON_ERROR_STOP=1 "$CRM_TEST_PG_MARKETING_URL" >/dev/null <<SQL
DELETE FROM engagements WHERE tenant_id IN ('$large', '$small');
DELETE FROM opportunities WHERE tenant_id IN ('$large', '$small');
DELETE FROM audience WHERE tenant_id IN ('$large', '$small');
DELETE FROM campaigns WHERE tenant_id IN ('$large', '$small');
ANALYZE engagements;
ANALYZE audience;
ANALYZE opportunities;
SQL
