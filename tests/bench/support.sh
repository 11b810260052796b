#!/usr/bin/env bash
# Benchmark of the support service against the running local stack (deploy/local/stack up). Not a test: it prints
# figures. Through the gateway:
#   1. IngestEmail messages per second (each message a new thread: a new case, its sender found or created in contacts
#      among 50 addresses), interleaved rounds of one variant;
#   2. SearchArticles p50/p99 at 100,000 published articles vs 1,000 (two tenants seeded as the service's own role,
#      under RLS, with 3-word titles and 8-word bodies over a vocabulary of ~3,000 words), interleaved;
#   3. GetCustomer360 p50/p99 vs the seven calls it makes (the same requests through the gateway), interleaved: each
#      call alone, and "fanout": all seven at once from the load client, timed until the last answers (the slowest of
#      the fan-out calls as this hardware runs them in parallel). The goal is view p99 <= the slowest call's p99 + 2 ms;
#      the summary prints view p99 against both.
#   4. (part "sections") the view's profile: its sections' own times over 300 sequential calls over HTTP.
#   usage: tests/bench/support.sh [--seconds S] [--rounds R] [--concurrency N] [--parts "ingest search view sections"]
#          [--raw FILE]
# The machine is shared (2 cores): the services, PostgreSQL, Kafka and the load client compete; GetCustomer360 makes
# six calls for one, so at a concurrency that saturates the machine its latency is mostly queueing (see the README).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=5
rounds=5
concurrency=4
parts="ingest search view"
raw=$(mktemp)
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --parts) parts=$2; shift 2 ;;
        --raw) raw=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--rounds R] [--concurrency N] [--parts LIST] [--raw FILE]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-support-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tenant="bench$(date +%s)"

seed_articles() { # tenant count
    psql -q -X -v ON_ERROR_STOP=1 "$CRM_SUPPORT_DB_URL" >/dev/null <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$1', true);
INSERT INTO kb_articles (tenant_id, id, title, body, category, locale, state, published_version, latest_version)
SELECT '$1', gen_random_uuid(), 'w' || g % 997 || ' w' || g % 1009 || ' w' || g % 1013,
       'w' || (g * 31) % 2003 || ' w' || (g * 17) % 3001 || ' w' || (g * 7) % 1999 || ' w' || g % 2999 || ' w' ||
       (g * 3) % 2011 || ' w' || (g * 11) % 2017 || ' w' || (g * 13) % 2027 || ' w' || g % 29,
       (ARRAY['billing','account','data','developers'])[1 + g % 4], 'en', 'PUBLISHED', 1, 1
FROM generate_series(1, $2) g;
INSERT INTO kb_article_versions (tenant_id, article_id, version_number, title, body, category, locale, language,
                                 search_config, live)
SELECT tenant_id, id, 1, title, body, category, locale, 'en', 'english'::regconfig, true FROM kb_articles
WHERE tenant_id = '$1';
INSERT INTO kb_search_terms (tenant_id, language, lexeme, article_id)
SELECT v.tenant_id, v.language, lexeme, v.article_id FROM kb_article_versions v,
       unnest(tsvector_to_array(v.search)) lexeme WHERE v.tenant_id = '$1';
COMMIT;
SQL
}

part() { [[ " $parts " == *" $1 "* ]]; }
if part search; then
    t0=$SECONDS
    seed_articles "${tenant}big" 100000
    seed_articles "${tenant}small" 1000
    psql -q "$CRM_SUPPORT_DB_ADMIN_URL" -c "ANALYZE kb_articles; ANALYZE kb_article_versions; ANALYZE kb_search_terms" \
        >/dev/null
    echo "seeded 100,000 + 1,000 published articles in $((SECONDS - t0)) s" >&2
fi
token() { "$repo/deploy/local/stack" token --tenant "$1" --role "$2" --ttl 7200; }
tok_big=$(token "${tenant}big" support_agent)
tok_small=$(token "${tenant}small" support_agent)
tok_mail=$(token "${tenant}mail" support_agent)
tok_view=$(token "${tenant}view" admin)
if part view || part sections; then
    contact=$("$bench" --token "$tok_view" --rpc setup-view)
    echo "customer for the 360 view: $contact" >&2
fi

# 1. IngestEmail.
cat >"$work/ingest.json" <<JSON
{"title": "IngestEmail: a new case per message", "rounds": $rounds,
 "variants": [
   {"name": "ingest", "cmd": "$bench --token $tok_mail --rpc ingest --concurrency $concurrency --seconds $seconds --label ingest"}],
 "ratios": []}
JSON
part ingest && python3 "$repo/tests/bench/interleave.py" "$work/ingest.json" --raw "$raw"

# 2. SearchArticles at 100k vs 1k.
cat >"$work/search.json" <<JSON
{"title": "SearchArticles: 100,000 vs 1,000 published articles", "rounds": $rounds,
 "variants": [
   {"name": "100k", "cmd": "$bench --token $tok_big --rpc search --concurrency $concurrency --seconds $seconds --label 100k"},
   {"name": "1k", "cmd": "$bench --token $tok_small --rpc search --concurrency $concurrency --seconds $seconds --label 1k"}],
 "ratios": [{"name": "p50 100k/1k", "num": "100k", "den": "1k", "field": "p50_ms"},
            {"name": "p99 100k/1k", "num": "100k", "den": "1k", "field": "p99_ms"}]}
JSON
part search && python3 "$repo/tests/bench/interleave.py" "$work/search.json" --raw "$raw"

# 3. GetCustomer360 vs the calls it makes: each alone, and all seven at once from this client ("fanout").
variants=""
for rpc in view fanout contact opps-open opps-won activities lead member engagement; do
    variants+="{\"name\": \"$rpc\", \"cmd\": \"$bench --token $tok_view --rpc $rpc --contact $contact --concurrency $concurrency --seconds $seconds --label $rpc\"},"
done
singles='["contact", "opps-open", "opps-won", "activities", "lead", "member", "engagement"]'
cat >"$work/view.json" <<JSON
{"title": "GetCustomer360 vs its seven calls at once (fanout) and each alone (through the gateway)", "rounds": $rounds,
 "variants": [${variants%,}],
 "ratios": [{"name": "view - fanout p99 ms", "num": "view", "den": "fanout", "field": "p99_ms", "op": "diff"},
            {"name": "view / fanout p99", "num": "view", "den": "fanout", "field": "p99_ms"},
            {"name": "view - fanout p50 ms", "num": "view", "den": "fanout", "field": "p50_ms", "op": "diff"},
            {"name": "slowest single call p99 ms (max of 7)", "num": $singles, "den": $singles, "field": "p99_ms", "op": "first"},
            {"name": "view - slowest single call p99 ms", "num": "view", "den": $singles, "field": "p99_ms", "op": "diff"},
            {"name": "view / slowest single call p99", "num": "view", "den": $singles, "field": "p99_ms"},
            {"name": "fanout - slowest single call p99 ms", "num": "fanout", "den": $singles, "field": "p99_ms", "op": "diff"}]}
JSON
part view && python3 "$repo/tests/bench/interleave.py" "$work/view.json" --raw "$raw"
# 4. The view's profile: its sections' own times over sequential calls (part "sections").
part sections && python3 "$repo/tests/bench/support_view_sections.py" --token "$tok_view" --contact "$contact" \
    --address "$CRM_TEST_GATEWAY_HTTP" --calls 300
echo "raw slices: $raw" >&2
