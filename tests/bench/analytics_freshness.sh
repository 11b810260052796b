#!/usr/bin/env bash
# Freshness of the analytics read models against the running local stack (deploy/local/stack up): contacts created
# through the gateway at a fixed rate, GetKpis polled through the gateway; prints p50/p90/p99 of "create committed ->
# counted by new_contacts" per rate, and the consumer's own histogram (event occurred_at -> facts written).
# Not a test: it prints figures.
#   usage: tests/bench/analytics_freshness.sh [--seconds S] [--rates "20 100"] [--poll-ms MS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=20
rates="20 100"
poll_ms=10
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --rates) rates=$2; shift 2 ;;
        --poll-ms) poll_ms=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--rates \"N ...\"] [--poll-ms MS]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bin="${CRM_BUILD_DIR:-$repo/build}/tests/crm-analytics-freshness"
[[ -x $bin ]] || { echo "build first: $bin is missing" >&2; exit 1; }
for rate in $rates; do
    tenant="bench$(date +%s%N | cut -c1-13)"
    token=$("$repo/deploy/local/stack" token --tenant "$tenant" --role admin --ttl 3600)
    "$bin" --gateway "$CRM_TEST_GATEWAY" --token "$token" --rate "$rate" --seconds "$seconds" --poll-ms "$poll_ms"
done
echo "consumer histogram (crm_analytics_event_freshness_seconds, cumulative since the service started):"
curl -s "http://$CRM_TEST_ANALYTICS_METRICS/metrics" | grep '^crm_analytics_event_freshness_seconds' | sed 's/^/  /'
