#!/usr/bin/env bash
# Benchmark of field-service scheduling against the running local stack (deploy/local/stack up). Not a test: it
# prints figures. It seeds (as the service's own role, under RLS) one tenant with 10,000 technicians and 100,000
# booked appointments and another with 100 technicians and 1,000 appointments, then through the gateway:
#   1. FindCandidates p50/p99 at 10k vs 100 technicians, interleaved (tests/bench/interleave.py): the goal is a
#      ratio <= 2 (the KNN scan reads the nearest qualified technicians only, whatever their number);
#   2. DispatchWorkOrder under contention: 400 bookings raced by 8 clients onto 10 technicians x 4 slots, the
#      bookings per second, and a check that no two booked blocks of one technician overlap;
#   3. PlanDay of a technician with 25 visits on one day.
#   usage: tests/bench/fieldservice.sh [--seconds S] [--rounds R] [--concurrency N]   (raw lines: --raw FILE)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
seconds=5
rounds=5
concurrency=4
raw=$(mktemp)
while (($#)); do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --raw) raw=$2; shift 2 ;;
        *) echo "usage: $0 [--seconds S] [--rounds R] [--concurrency N] [--raw FILE]" >&2; exit 2 ;;
    esac
done
eval "$("$repo/deploy/local/stack" env)"
bench="${CRM_BUILD_DIR:-$repo/build}/tests/crm-fieldservice-bench"
[[ -x $bench ]] || { echo "build first: $bench is missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tenant="bench$(date +%s)"
hours='[{"weekday":1,"start_minute":480,"end_minute":1020},{"weekday":2,"start_minute":480,"end_minute":1020},{"weekday":3,"start_minute":480,"end_minute":1020},{"weekday":4,"start_minute":480,"end_minute":1020},{"weekday":5,"start_minute":480,"end_minute":1020}]'

sql() { psql -q -X -v ON_ERROR_STOP=1 -t -A "$CRM_FIELDSERVICE_DB_URL" "$@"; }

seed() { # tenant technicians appointments
    sql >/dev/null <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$1', true);
INSERT INTO technicians (tenant_id, id, user_id, display_name, home, time_zone, working_hours)
SELECT '$1', gen_random_uuid(), 'u' || g, 'T' || g,
       ST_SetSRID(ST_MakePoint(13 + random(), 52 + random()), 4326)::geography, 'Europe/Berlin', '$hours'::jsonb
FROM generate_series(1, $2) g;
INSERT INTO technician_skills (tenant_id, technician_id, skill, level)
SELECT tenant_id, id, 'hvac', 1 + abs(hashtext(id::text)) % 5 FROM technicians WHERE tenant_id = '$1';
INSERT INTO work_orders (tenant_id, id, title, site_address, site, work_type, duration_minutes, status)
SELECT '$1', gen_random_uuid(), 'Seeded', 'Somewhere', ST_SetSRID(ST_MakePoint(13.5, 52.5), 4326)::geography,
       'repair', 60, 'SCHEDULED' FROM generate_series(1, $3);
WITH t AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM technicians WHERE tenant_id = '$1'),
     w AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM work_orders WHERE tenant_id = '$1')
INSERT INTO appointments (tenant_id, id, work_order_id, technician_id, start_time, end_time, travel_minutes,
                          block_start, site)
SELECT '$1', gen_random_uuid(), w.id, t.id, s, s + interval '1 hour', 0, s,
       ST_SetSRID(ST_MakePoint(13.5, 52.5), 4326)::geography
FROM w JOIN t ON t.rn = 1 + (w.rn - 1) % $2
CROSS JOIN LATERAL (SELECT timestamptz '2027-05-03 07:00Z' + ((w.rn - 1) / $2) * interval '1 day' AS s) x;
COMMIT;
SQL
}

work_order() { # tenant -> id of a NEW work order at the centre, hvac >= 3, Wednesday 5 May 2027 08:00-17:00 local
    sql <<SQL | tail -n 1
BEGIN;
SELECT set_config('crm.tenant_id', '$1', true);
INSERT INTO work_orders (tenant_id, id, title, site_address, site, work_type, duration_minutes, required_skills,
                         time_windows)
VALUES ('$1', gen_random_uuid(), 'Bench', 'Centre', ST_SetSRID(ST_MakePoint(13.5, 52.5), 4326)::geography, 'repair',
        60, '[{"skill":"hvac","min_level":3}]',
        jsonb_build_array(jsonb_build_object('start', extract(epoch FROM timestamptz '2027-05-05 06:00Z')::bigint * 1000000,
                                             'end', extract(epoch FROM timestamptz '2027-05-05 15:00Z')::bigint * 1000000)))
RETURNING id;
COMMIT;
SQL
}

t0=$SECONDS
seed "${tenant}big" 10000 100000
seed "${tenant}small" 100 1000
psql -q "$CRM_FIELDSERVICE_DB_ADMIN_URL" -c "ANALYZE technicians; ANALYZE technician_skills; ANALYZE appointments" >/dev/null
echo "seeded 10,000 technicians + 100,000 appointments and 100 + 1,000 in $((SECONDS - t0)) s" >&2
big_wo=$(work_order "${tenant}big")
small_wo=$(work_order "${tenant}small")
tok_big=$("$repo/deploy/local/stack" token --tenant "${tenant}big" --role dispatcher --ttl 7200)
tok_small=$("$repo/deploy/local/stack" token --tenant "${tenant}small" --role dispatcher --ttl 7200)

# 1. FindCandidates, interleaved.
cat >"$work/plan.json" <<JSON
{"title": "FindCandidates: 10k technicians / 100k appointments vs 100 / 1k", "rounds": $rounds,
 "variants": [
   {"name": "10k", "cmd": "$bench --token $tok_big --rpc candidates --work-order $big_wo --concurrency $concurrency --seconds $seconds --label 10k"},
   {"name": "100", "cmd": "$bench --token $tok_small --rpc candidates --work-order $small_wo --concurrency $concurrency --seconds $seconds --label 100"}],
 "ratios": [{"name": "p50 10k/100", "num": "10k", "den": "100", "field": "p50_ms"},
            {"name": "p99 10k/100", "num": "10k", "den": "100", "field": "p99_ms"},
            {"name": "rps 10k/100", "num": "10k", "den": "100", "field": "rps"}]}
JSON
python3 "$repo/tests/bench/interleave.py" "$work/plan.json" --raw "$raw"

# 2. Dispatch under contention: 400 new work orders (Monday 7 June 2027), 10 technicians, 4 one-hour slots each.
contention="${tenant}race"
seed "$contention" 10 0
sql -c "SELECT set_config('crm.tenant_id', '$contention', false)" \
    -c "SELECT id FROM technicians WHERE tenant_id = '$contention'" | grep -E '^[0-9a-f-]{36}$' >"$work/techs"
sql <<SQL | grep -E '^[0-9a-f-]{36}$' >"$work/orders"
BEGIN;
SELECT set_config('crm.tenant_id', '$contention', true);
INSERT INTO work_orders (tenant_id, id, title, site_address, site, work_type, duration_minutes, required_skills,
                         time_windows)
SELECT '$contention', gen_random_uuid(), 'Race', 'Centre', ST_SetSRID(ST_MakePoint(13.5, 52.5), 4326)::geography,
       'repair', 60, '[]',
       jsonb_build_array(jsonb_build_object('start', extract(epoch FROM timestamptz '2027-06-07 06:00Z')::bigint * 1000000,
                                            'end', extract(epoch FROM timestamptz '2027-06-07 15:00Z')::bigint * 1000000))
FROM generate_series(1, 400)
RETURNING id;
COMMIT;
SQL
tok_race=$("$repo/deploy/local/stack" token --tenant "$contention" --role dispatcher --ttl 7200)
slot=$(date -u -d '2027-06-07T08:00:00Z' +%s) # 10:00 local: every technician can reach the centre by then
"$bench" --token "$tok_race" --rpc dispatch --work-orders "$work/orders" --technicians "$work/techs" \
    --slot-base "$slot" --concurrency 8 --label contention | tee -a "$raw"
overlaps=$(psql -t -A "$CRM_TEST_PG_FIELDSERVICE_URL" -c "SELECT count(*) FROM appointments a JOIN appointments b ON
    a.tenant_id = b.tenant_id AND a.technician_id = b.technician_id AND a.id < b.id AND a.block && b.block
    WHERE a.tenant_id = '$contention' AND a.status <> 'RELEASED' AND b.status <> 'RELEASED'")
booked=$(psql -t -A "$CRM_TEST_PG_FIELDSERVICE_URL" -c "SELECT count(*) FROM appointments WHERE tenant_id = '$contention'")
echo "{\"check\":\"double bookings\",\"booked\":$booked,\"overlapping_pairs\":$overlaps}" | tee -a "$raw"

# 3. PlanDay with 25 visits on one day (Tuesday 8 June 2027, every 20 minutes from 08:00 local, 10 minutes each).
planner=$(head -n 1 "$work/techs")
sql >/dev/null <<SQL
BEGIN;
SELECT set_config('crm.tenant_id', '$contention', true);
WITH w AS (
  INSERT INTO work_orders (tenant_id, id, title, site_address, site, work_type, duration_minutes, status)
  SELECT '$contention', gen_random_uuid(), 'Stop ' || g, 'Stop',
         ST_SetSRID(ST_MakePoint(13.4 + random() * 0.2, 52.45 + random() * 0.1), 4326)::geography, 'repair', 10,
         'SCHEDULED' FROM generate_series(1, 25) g
  RETURNING id, site, title)
INSERT INTO appointments (tenant_id, id, work_order_id, technician_id, start_time, end_time, travel_minutes,
                          block_start, site)
SELECT '$contention', gen_random_uuid(), w.id, '$planner', s, s + interval '10 minutes', 0, s, w.site
FROM w CROSS JOIN LATERAL (SELECT timestamptz '2027-06-08 06:00Z' +
                                  (substr(w.title, 6)::int - 1) * interval '20 minutes' AS s) x;
COMMIT;
SQL
"$bench" --token "$tok_race" --rpc plan --technician "$planner" --date 2027-06-08 --concurrency 1 \
    --seconds "$seconds" --label plan25 | tee -a "$raw"
