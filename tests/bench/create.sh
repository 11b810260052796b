#!/usr/bin/env bash
# The create paths against the running local stack (deploy/local/stack up), with a pgbench baseline of the same
# statements, measured interleaved (tests/bench/interleave.py: short alternating slices, several rounds, medians).
# Not a test: it prints figures and appends every slice's raw result to --raw.
#
#   tests/bench/create.sh preload --tenant T --count N [--seed S]
#       Loads N contacts shaped like a real tenant's (tests/bench/names.hpp; `crm-bench --emit-contacts`) into tenant
#       T: one INSERT ... SELECT from a COPY of the generated rows, as the service's own role with the tenant set (row-
#       level security applies and the lookup triggers run), writing exactly the columns CreateContact writes (values
#       already in their normalized form), with creation times one second apart ending now. No events are written
#       (nothing consumes a preload). Then ANALYZE as the owner. ~100k rows/min on the shared 2-core host.
#       E-mail and phone go in clear, as rows written before encryption at rest: the contacts service seals them and
#       fills their blind indexes at its next start (`deploy/local/stack start-apps`: about a minute per 100k rows)
#       or hourly upkeep. Restart it after a preload: until then lookups by e-mail or phone do not see these rows.
#   tests/bench/create.sh run --tenant T --raw FILE [--seconds S] [--rounds R] [--concurrency "1 16"]
#                             [--pgbench-script F] [--variants "contact-http contact-direct pgbench lead opportunity"]
#       For each concurrency, one slice per variant per round, in an order rotated every round:
#         contact-http    CreateContact through the gateway over HTTP/JSON (POST /v1/contacts, keep-alive)
#         contact-grpc    CreateContact through the gateway over gRPC
#         contact-direct  CreateContact directly to the service (identity signed as the gateway would)
#         pgbench         the statements of one CreateContact (--pgbench-script, default create_contact.pgbench) as
#                         the service's role, -M extended (bound parameters, like the service), synchronous_commit on
#         lead            CreateLead through the gateway (gRPC); opportunity: CreateOpportunity through the gateway
#       All of them write into tenant T (contacts: its preloaded size grows by what the run creates), with the same
#       number of connections; failed calls are counted (pgbench: failed transactions).
#   tests/bench/create.sh lookup --tenants "T1 T2 ..." [--calls N]
#       The duplicate-candidate lookup (contacts_duplicate_candidates) as the service's role, N calls (default 500) for
#       each of a few probes (the commonest name with a shared phone, a common name, a rare name, a common name at a
#       company) in each tenant, after 20 warm-up calls: mean time per call and candidates found, so that the cost
#       can be compared across tenant sizes (1k, 100k, 1M). Since migration 0050 the e-mail and phone arguments are
#       blind indexes, which psql cannot compute (the key is the service's): the phone probe's number matches none, so
#       the figures measure the name lookup and an index probe that finds nothing.
#   tests/bench/create.sh convert --raw FILE [--seconds S] [--rounds R] [--concurrency N] [--pool N]
#       ConvertLead through the gateway, each slice on a fresh pool of --pool qualified leads (prepared untimed).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cmd=${1:-}
shift || true
tenant="" count=100000 seed=1 raw="" seconds=5 rounds=5 concurrency="1 16" pool=2000 tenants="" calls=500
script="$repo/tests/bench/create_contact.pgbench"
variants="contact-http contact-direct pgbench lead opportunity"
slice_connections=""
[[ $cmd == pgbench-slice ]] && { slice_connections=$1; shift; }
while (($#)); do
    case $1 in
        --tenant) tenant=$2; shift 2 ;;
        --count) count=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --raw) raw=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --pgbench-script) script=$(realpath "$2"); shift 2 ;;
        --variants) variants=$2; shift 2 ;;
        --pool) pool=$2; shift 2 ;;
        --tenants) tenants=$2; shift 2 ;;
        --calls) calls=$2; shift 2 ;;
        *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
# Another contacts database with the same roles (e.g. a copy of the schema before a migration, for a before/after of
# the statements in one interleaved run): CRM_BENCH_DB=<name> for preload, lookup and the pgbench slices.
if [[ -n ${CRM_BENCH_DB:-} ]]; then
    CRM_CONTACTS_DB_URL=${CRM_CONTACTS_DB_URL%/contacts}/$CRM_BENCH_DB
    CRM_CONTACTS_DB_ADMIN_URL=${CRM_CONTACTS_DB_ADMIN_URL%/contacts}/$CRM_BENCH_DB
fi
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
command -v pgbench >/dev/null || PATH="/usr/lib/postgresql/15/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

preload() {
    [[ -n $tenant ]] || { echo "preload needs --tenant" >&2; exit 2; }
    "$bench" --emit-contacts "$count" --seed "$seed" >"$work/contacts.csv"
    local t0=$SECONDS
    # The app role may neither create temporary tables nor COPY into a table under row-level security: the rows go
    # as multi-row INSERTs of 5,000 each, in one transaction.
    python3 - "$work/contacts.csv" "$tenant" "$count" <<'PY' | psql -q -v ON_ERROR_STOP=1 "$CRM_CONTACTS_DB_URL" >/dev/null
import csv, sys
path, tenant, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = lambda v: "'" + v.replace("'", "''") + "'"
print("BEGIN;")
print(f"SELECT set_config('crm.tenant_id', {q(tenant)}, true);")
rows = list(csv.reader(open(path)))
for start in range(0, len(rows), 5000):
    values = ",\n".join(
        f"({q(tenant)}, gen_random_uuid(), {q(r[0])}, {q(r[1])}, {q(r[2])}, {q(r[3])}, {q(r[4])}, {q(r[5])}, {q(r[6])}, "
        f"now() - make_interval(secs => {count - i}), now() - make_interval(secs => {count - i}))"
        for i, r in enumerate(rows[start:start + 5000], start))
    print("INSERT INTO contacts (tenant_id, id, given_name, family_name, email, phone, given_name_normalized, "
          "family_name_normalized, full_name_normalized, create_time, update_time) VALUES\n" + values + ";")
print("COMMIT;")
PY
    psql -q "$CRM_CONTACTS_DB_ADMIN_URL" -c "VACUUM ANALYZE contacts" >/dev/null
    for table in contact_name_trigrams contact_name_keys contact_tags; do
        psql -q "$CRM_CONTACTS_DB_ADMIN_URL" -c "VACUUM ANALYZE $table" >/dev/null 2>&1 || true
    done
    echo "preloaded $count contacts into tenant $tenant in $((SECONDS - t0)) s" >&2
}

# Prints crm-bench's JSON line for pgbench: runs the script for --seconds with the given connections and reads the
# per-transaction log for the percentiles.
pgbench_slice() { # connections
    local dir
    dir=$(mktemp -d -p "$work")
    (cd "$dir" && pgbench -n -M extended -c "$1" -j "$(($1 < 2 ? 1 : 2))" -T "$seconds" -l -D "tenant=$tenant" \
        -f "$script" "$CRM_CONTACTS_DB_URL" >out.txt 2>&1) || { cat "$dir/out.txt" >&2; exit 1; }
    python3 - "$dir" "$1" <<'PY'
import glob, json, re, sys
d, conc = sys.argv[1], int(sys.argv[2])
out = open(f"{d}/out.txt").read()
lat = sorted(int(l.split()[2]) / 1000.0 for f in glob.glob(f"{d}/pgbench_log.*") for l in open(f) if l.strip())
tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
failed = int(m.group(1)) if (m := re.search(r"number of failed transactions: (\d+)", out)) else 0
pick = lambda p: lat[min(len(lat) - 1, int(p * (len(lat) - 1) + 0.5))] if lat else 0
print(json.dumps({"mode": "pgbench", "rpc": "create-contact statements", "concurrency": conc, "requests": len(lat),
                  "errors": failed, "calls": len(lat) + failed, "rps": tps, "p50_ms": pick(0.5), "p99_ms": pick(0.99)}))
PY
}

run() {
    [[ -n $tenant && -n $raw ]] || { echo "run needs --tenant and --raw" >&2; exit 2; }
    local token
    token=$("$repo/deploy/local/stack" token --tenant "$tenant" --role admin --ttl 7200)
    for c in $concurrency; do
        local gw=(--target "$CRM_TEST_GATEWAY" --mode gateway --token "$token" --concurrency "$c" --seconds "$seconds")
        local http=(--target "$CRM_TEST_GATEWAY_HTTP" --mode http --token "$token" --concurrency "$c"
            --seconds "$seconds")
        local direct=(--target "$CRM_TEST_CONTACTS" --mode direct --internal-key "$CRM_INTERNAL_KEY" --tenant "$tenant"
            --concurrency "$c" --seconds "$seconds")
        python3 - "$work/plan.json" "$c" "$variants" "$0" "$bench" "${gw[*]}" "${http[*]}" "${direct[*]}" <<'PY'
import json, sys
path, c, names, me, bench, gw, http, direct = sys.argv[1:]
cmds = {"contact-http": f"{bench} {http} --rpc create", "contact-grpc": f"{bench} {gw} --rpc create",
        "contact-direct": f"{bench} {direct} --rpc create", "pgbench": f"{me} pgbench-slice {c}",
        "lead": f"{bench} {gw} --rpc create-lead", "opportunity": f"{bench} {gw} --rpc create-opportunity"}
variants = [{"name": f"{n}@{c}", "cmd": cmds[n]} for n in names.split()]
ratios = []
have = {n for n in names.split()}
if {"contact-direct", "pgbench"} <= have:
    ratios.append({"name": f"contact direct / pgbench throughput @{c}", "num": f"contact-direct@{c}", "den": f"pgbench@{c}"})
if {"contact-http", "pgbench"} <= have:
    ratios.append({"name": f"contact http / pgbench throughput @{c}", "num": f"contact-http@{c}", "den": f"pgbench@{c}"})
if {"contact-http", "contact-direct"} <= have:
    ratios.append({"name": f"gateway http added p50 ms @{c}", "num": f"contact-http@{c}", "den": f"contact-direct@{c}",
                   "field": "p50_ms", "op": "diff"})
for n in ("lead", "opportunity"):
    if n in have and "contact-http" in have:
        ratios.append({"name": f"{n} / contact-http p50 @{c}", "num": f"{n}@{c}", "den": f"contact-http@{c}",
                       "field": "p50_ms"})
json.dump({"title": f"creates at {c} connection(s)", "variants": variants, "ratios": ratios}, open(path, "w"))
PY
        python3 -c "import json,sys; p=json.load(open(sys.argv[1])); p['rounds']=int(sys.argv[2]); json.dump(p, open(sys.argv[1],'w'))" \
            "$work/plan.json" "$rounds"
        CRM_BENCH_TENANT="$tenant" CRM_BENCH_SECONDS="$seconds" CRM_BENCH_SCRIPT="$script" \
            python3 "$repo/tests/bench/interleave.py" "$work/plan.json" --raw "$raw"
    done
}

lookup() {
    local t probe
    # An argument that depends on the row makes every call run (a constant call would be run once and rescanned).
    local exclude="(CASE WHEN g < 0 THEN gen_random_uuid() END)"
    printf '%-10s %-44s %10s %10s\n' tenant probe "ms/call" candidates
    for t in $tenants; do
        for probe in "'', '+14155550007', 'james smith', NULL" "'', '', 'mary johnson', NULL" \
            "'', '', 'linda kalomerzu', NULL" "'', '', 'james smith', '00000000-0000-0000-0000-000000000001'"; do
            psql -qAt -v ON_ERROR_STOP=1 "$CRM_CONTACTS_DB_URL" <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$t', true) \\g /dev/null
SELECT count(*) FROM generate_series(1, 20) g, LATERAL contacts_duplicate_candidates('$t', $probe, $exclude) \\g /dev/null
SELECT clock_timestamp() AS t0 \\gset
SELECT count(*) / $calls AS found FROM generate_series(1, $calls) g, LATERAL contacts_duplicate_candidates('$t', $probe, $exclude) \\gset
SELECT format('%-10s %-44s %10s %10s', '$t', left(\$q\$$probe\$q\$, 44),
              round((extract(epoch FROM clock_timestamp() - :'t0') * 1000 / $calls)::numeric, 3), :found);
COMMIT;
SQL
        done
    done
}

convert() {
    [[ -n $raw ]] || { echo "convert needs --raw" >&2; exit 2; }
    local t token
    t="conv$(date +%s)"
    token=$("$repo/deploy/local/stack" token --tenant "$t" --role admin --ttl 7200)
    cat >"$work/plan.json" <<JSON
{"title": "ConvertLead through the gateway, $concurrency connections, pool $pool", "rounds": $rounds,
 "variants": [{"name": "convert@$concurrency", "cmd": "$bench --target $CRM_TEST_GATEWAY --mode gateway --token $token --rpc convert --preload $pool --concurrency $concurrency --seconds $seconds"},
              {"name": "contact-grpc@$concurrency", "cmd": "$bench --target $CRM_TEST_GATEWAY --mode gateway --token $token --rpc create --concurrency $concurrency --seconds $seconds"}],
 "ratios": [{"name": "convert / create throughput", "num": "convert@$concurrency", "den": "contact-grpc@$concurrency"}]}
JSON
    python3 "$repo/tests/bench/interleave.py" "$work/plan.json" --raw "$raw"
}

case $cmd in
    preload) preload ;;
    run) run ;;
    convert) convert ;;
    lookup) lookup ;;
    # One pgbench slice (a variant of `run`; settings come from the environment run sets).
    pgbench-slice)
        tenant=$CRM_BENCH_TENANT seconds=$CRM_BENCH_SECONDS script=$CRM_BENCH_SCRIPT
        pgbench_slice "$slice_connections"
        ;;
    *) echo "usage: $0 preload|run|convert ... (see the header)" >&2; exit 2 ;;
esac
