#!/usr/bin/env bash
# Restarts one running service of the local stack with another binary of it (e.g. a build of an earlier commit),
# with exactly the environment the stack gave the running process, so that before/after runs of a benchmark can
# alternate on one stack. Not a test.
#   usage: tests/bench/restart_with.sh SERVICE BINARY      (deploy/local/stack start-apps goes back to the build's)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
svc=${1:?usage: $0 SERVICE BINARY}
bin=$(realpath "${2:?usage: $0 SERVICE BINARY}")
[[ -x $bin ]] || { echo "not executable: $bin" >&2; exit 1; }
eval "$("$repo/deploy/local/stack" env)"
run_dir="${CRM_LOCAL_DIR:-$repo/.local}/run"
log_dir="${CRM_LOCAL_DIR:-$repo/.local}/logs"
pid=$(cat "$run_dir/$svc.pid")
[[ -r /proc/$pid/environ ]] || { echo "$svc is not running (pid $pid)" >&2; exit 1; }
mapfile -d '' -t environment <"/proc/$pid/environ"
# Under the service's own process name, so that the stack (which checks names before stopping a pid) still manages it.
copy="$run_dir/bench-bin/crm-$svc"
mkdir -p "$(dirname "$copy")"
cp "$bin" "$copy.tmp" && mv -f "$copy.tmp" "$copy"
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
nohup env -i "${environment[@]}" "$copy" >>"$log_dir/$svc.log" 2>&1 </dev/null &
echo $! >"$run_dir/$svc.pid"
listen=""
for e in "${environment[@]}"; do [[ $e == CRM_GRPC_LISTEN=* ]] && listen=${e#CRM_GRPC_LISTEN=}; done
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null; then
        echo "$svc restarted with $bin (pid $(cat "$run_dir/$svc.pid"), $listen)" >&2
        exit 0
    fi
    sleep 0.1
done
echo "$svc did not start listening on $listen; see $log_dir/$svc.log" >&2
exit 1
