# deploy/images/smoke.sh — sourced by deploy/local/stack for its `images` test step (uses the stack's helpers:
# secrets, ports, db_url, svc_extra_env, grpc_health, psql_super). For every image deploy/images/build made:
#   1. a fresh database img_<name> (owner and application roles of <name>, as the stack provisions them);
#   2. the image's root filesystem, mounted read-only (its own mount namespace) with /proc and /dev, runs as
#      10001:10001 with `--migrate-only` against it: must exit 0 and leave every migration in schema_migrations;
#   3. the image serves against the local PostgreSQL, Kafka and Redis (consumers on a topic of their own, so that
#      they take no event from the stack's services: every topic setting of its --help is redirected) and must answer
#      gRPC health SERVING; its ENV makes it listen on 0.0.0.0 at its default ports (CRM_*_LISTEN);
#   4. SIGTERM must end it with exit code 0 (graceful drain);
#   5. its uncompressed size must stay within 60 MB (printed).
# No shell runs inside an image: the binary is exec'd by chroot from the host.
IMAGE_MAX_BYTES=$((60 * 1000 * 1000))
# smoke_topic SETTING: the throwaway topic a topic setting of a smoke instance names (one per setting: a service may
# require its consumers' topics to differ), e.g. crm.image-smoke.crm_support_contacts_topic.v1.
smoke_topic() { echo "crm.image-smoke.${1,,}.v1"; }
IMAGE_PORT_SHIFT=60 # smoke instances listen on the stack's ports + 60 (gateway HTTP: + 68), or the next free one

# smoke_port WANTED: WANTED, or the next port no socket of the machine uses (also as the local port of an outgoing
# connection, which the kernel may have taken from the ephemeral range and which a listener cannot bind).
smoke_port() {
    local p=$1
    while [[ -n $(ss -Htan "( sport = :$p )" 2>/dev/null) ]]; do p=$((p + 1)); done
    echo "$p"
}

ibh() { buildah --storage-driver vfs --root "$LOCAL/images/storage" --runroot "$LOCAL/images/run" "$@"; }

# image_exec MNT BIND ENV... -- ARGS...: replaces the calling (sub)shell with the image's entry point, so that its pid
# is the server's (call it in a subshell or with &). BIND "SRC:DST" mounts a host file read-only at DST (or "").
image_exec() {
    local mnt=$1 bind=$2
    shift 2
    local envs=()
    while (($#)) && [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    shift
    # shellcheck disable=SC2016 # expanded by the inner bash
    exec unshare --mount --propagation private -- bash -c '
        set -e
        m=$1 bind=$2
        shift 2
        if [[ -n $bind ]]; then mkdir -p "$(dirname "$m${bind#*:}")" && touch "$m${bind#*:}"; fi
        mount --bind "$m" "$m"
        mount -o remount,bind,ro "$m"
        mount -t proc proc "$m/proc"
        mount --rbind /dev "$m/dev"
        if [[ -n $bind ]]; then mount --bind -o ro "${bind%%:*}" "$m${bind#*:}"; fi
        exec "$@"' _ "$mnt" "$bind" env -i "${envs[@]}" "$(command -v chroot)" --userspec=10001:10001 "$mnt" \
        /usr/bin/crm-service "$@"
}

# image_topic_settings HELP: the settings of the image's binary (HELP: its --help, run from the image) that name Kafka
# topics it consumes: every *_TOPIC / *_TOPICS variable, and any other whose default is a topic (crm.<name>.v<N>...).
image_topic_settings() {
    awk '
        /^  CRM_[A-Z0-9_]+( \(required\))?$/ { name = $1; if (name ~ /_TOPICS?$/) print name; next }
        /^      default: crm\.[a-z0-9-]+\.v[0-9]+(\.[a-z]+)?(,|$)/ { if (name != "" && name !~ /_TOPICS?$/) print name }
    ' <<<"$1" | sort -u
}

# image_listen_problems NAME HELP ENV: the image's configured environment (ENV, one per line) must make it listen on
# every interface, on its binary's default ports: CRM_GRPC_LISTEN, CRM_METRICS_LISTEN and, for the gateway,
# CRM_HTTP_LISTEN = 0.0.0.0:<port of the default in --help>. Prints what is wrong.
image_listen_problems() {
    local name=$1 help=$2 env=$3 v port want
    local vars=(CRM_GRPC_LISTEN CRM_METRICS_LISTEN)
    [[ $name == gateway ]] && vars+=(CRM_HTTP_LISTEN)
    for v in "${vars[@]}"; do
        port=$(awk -v v="$v" '$1 == v { f = 1; next } /^  CRM_/ { f = 0 }
            f && /^      default: / { n = split($2, a, ":"); print a[n]; exit }' <<<"$help")
        want="$v=0.0.0.0:$port"
        if [[ -z $port ]] || ! grep -qx "$want" <<<"$env"; then
            echo "ENV $(grep "^$v=" <<<"$env" || echo "$v unset"), expected $want"
        fi
    done
}

image_env() { # image_env NAME DB MNT: the settings the stack gives NAME, with the smoke instance's ports and database
    local name=$1 db=$2 mnt=$3 port mport setting
    if [[ $name == gateway ]]; then
        port=$(smoke_port $((GATEWAY_PORT + IMAGE_PORT_SHIFT)))
        mport=$(smoke_port $((GATEWAY_METRICS_PORT + IMAGE_PORT_SHIFT)))
        echo "CRM_HTTP_LISTEN=127.0.0.1:$(smoke_port $((GATEWAY_PORT + IMAGE_PORT_SHIFT + 8)))"
        echo "CRM_JWT_HS256_SECRET=$(secret CRM_JWT_HS256_SECRET)"
        echo "CRM_JWT_ISSUER=$JWT_ISSUER"
        echo "CRM_JWT_AUDIENCE=$JWT_AUDIENCE"
        echo "CRM_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
        echo "CRM_GATEWAY_POLICY_FILE=/etc/crm/gateway/policy.json"
        echo "CRM_ROUTES=$(routes)"
    else
        port=$(smoke_port $(($(svc_port "$name" grpc) + IMAGE_PORT_SHIFT)))
        mport=$(smoke_port $(($(svc_port "$name" metrics) + IMAGE_PORT_SHIFT)))
        echo "CRM_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
        svc_extra_env "$name"
        # Consumers read topics of their own in a group of their own: the stack's consumer groups keep every event of
        # the real topics and see no rebalance. Every topic setting the binary declares is redirected
        # (image_topic_settings), so a new consumer's is too.
        for setting in $IMAGE_TOPIC_SETTINGS; do echo "$setting=$(smoke_topic "$setting")"; done
        echo "CRM_KAFKA_GROUP_ID=crm-image-smoke-$name"
    fi
    echo "CRM_GRPC_LISTEN=127.0.0.1:$port"
    echo "CRM_METRICS_LISTEN=127.0.0.1:$mport"
    echo "CRM_INTERNAL_KEY=$(secret CRM_INTERNAL_KEY)"
    # The master keys of crypto-shredding, once the stack keeps them among its secrets (k8s: the Secret crm-privacy-keys).
    if [[ $name != gateway && -n ${CRM_PRIVACY_KEYS:-} ]]; then echo "CRM_PRIVACY_KEYS=$CRM_PRIVACY_KEYS"; fi
    echo "CRM_DB_URL=$(db_url "$name" app | sed "s|/$name\$|/$db|")"
    echo "CRM_DB_ADMIN_URL=$(db_url "$name" owner | sed "s|/$name\$|/$db|")"
    echo "CRM_LOG_LEVEL=$LOG_LEVEL"
}

image_db_create() { # image_db_create NAME DB: an empty database as pg_provision makes the service's own
    local name=$1 db=$2
    psql_super postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS "$db" WITH (FORCE);
CREATE DATABASE "$db" OWNER "${name}_owner";
REVOKE CONNECT, TEMPORARY ON DATABASE "$db" FROM PUBLIC;
GRANT CONNECT ON DATABASE "$db" TO "${name}_app";
SQL
    if [[ $name == fieldservice ]]; then
        psql_super "$db" <<SQL
CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO PUBLIC;
CREATE EXTENSION IF NOT EXISTS postgis SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA extensions;
ALTER DATABASE "$db" SET search_path = "\$user", public, extensions;
SQL
    fi
}

image_smoke_one() { # image_smoke_one NAME REF
    local name=$1 ref=$2 db="img_$1" t=$SECONDS ctr mnt rc
    : >"$LOG_DIR/image-$name.log"
    # The image's configuration: the numeric user, the entry point, the OCI labels.
    local config user source revision version entry
    config=$(ibh inspect --type image --format '{{.OCIv1.Config.User}}|{{.OCIv1.Config.Entrypoint}}|{{index
        .OCIv1.Config.Labels "org.opencontainers.image.source"}}|{{index .OCIv1.Config.Labels
        "org.opencontainers.image.revision"}}|{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}' \
        "$ref") || return 1
    IFS='|' read -r user entry source revision version <<<"$config"
    if [[ $user != 10001:10001 || $entry != "[/usr/bin/crm-service]" || -z $source || -z $revision || -z $version ]]
    then
        log "image $name: user '$user', entry point '$entry', labels source '$source' revision '$revision'" \
            "version '$version'"
        return 1
    fi
    IMAGE_CONFIG_ENV=$(ibh inspect --type image --format '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' "$ref") ||
        return 1
    ctr=$(ibh from --pull=never --quiet "$ref") || {
        log "image $name: buildah from $ref failed"
        return 1
    }
    mnt=$(ibh mount "$ctr")
    rc=0
    image_check "$name" "$mnt" "$t" || rc=$?
    ibh rm "$ctr" >/dev/null 2>&1 || true
    psql_super postgres <<<"SET client_min_messages = warning; DROP DATABASE IF EXISTS \"$db\" WITH (FORCE);" \
        >/dev/null || true
    return $rc
}

image_check() { # image_check NAME MNT T0: the checks of one image, its root filesystem at MNT
    local name=$1 mnt=$2 t=$3 db="img_$1" bytes envs=() bind="" logf="$LOG_DIR/image-$1.log" port pid rc
    local migrations applied missing
    bytes=$(du -sb "$mnt" | cut -f1)
    if [[ -e $mnt/usr/bin/sh || -e $mnt/usr/bin/bash || -e $mnt/usr/bin/dash || -e $mnt/usr/bin/busybox ]]; then
        log "image $name: has a shell"
        return 1
    fi
    if [[ $name == gateway ]]; then bind="$GATEWAY_POLICY:/etc/crm/gateway/policy.json"; fi
    local help problems
    help=$( (image_exec "$mnt" "" -- --help) </dev/null 2>/dev/null) || {
        log "image $name: --help failed"
        return 1
    }
    problems=$(image_listen_problems "$name" "$help" "$IMAGE_CONFIG_ENV")
    if [[ -n $problems ]]; then
        log "image $name: does not listen on every interface: $problems"
        return 1
    fi
    IMAGE_TOPIC_SETTINGS=$(image_topic_settings "$help")
    mapfile -t envs < <(image_env "$name" "$db" "$mnt")
    # No consumer of the image may read a real topic: each topic setting is set, and only ever to the smoke topic.
    local topic_setting
    for topic_setting in $IMAGE_TOPIC_SETTINGS; do
        local want="$topic_setting=$(smoke_topic "$topic_setting")"
        if ! printf '%s\n' "${envs[@]}" | grep -qx "$want" ||
            printf '%s\n' "${envs[@]}" | grep "^$topic_setting=" | grep -qvx "$want"; then
            log "image $name: $topic_setting is not redirected to ${want#*=} alone"
            return 1
        fi
    done
    image_db_create "$name" "$db" >/dev/null

    # The migration gets only what the Kubernetes init container gets (k8s/base/<name>.yaml).
    local migrate_env=() e
    for e in "${envs[@]}"; do
        case ${e%%=*} in
        CRM_DB_URL | CRM_DB_ADMIN_URL | CRM_INTERNAL_KEY | CRM_PRIVACY_KEYS | CRM_LOG_LEVEL) migrate_env+=("$e") ;;
        CRM_ROUTES | CRM_GATEWAY_POLICY_FILE | CRM_JWT_HS256_SECRET)
            if [[ $name == gateway ]]; then migrate_env+=("$e"); fi
            ;;
        esac
    done
    if ! (image_exec "$mnt" "$bind" "${migrate_env[@]}" -- --migrate-only </dev/null >>"$logf" 2>&1); then
        tail -n 20 "$logf" >&2
        log "image $name: --migrate-only failed (log: $logf)"
        return 1
    fi
    # Every migration file of the image is recorded as applied.
    migrations=$(find "$mnt/usr/share/crm/$name/migrations" -name '*.sql' -printf '%f\n' | sed 's/\.sql$//' | sort)
    applied=$(
        as_postgres "$(q "$PG_BIN/psql") -X -At -h $(q "$PG_RUN") -p $PG_PORT -U postgres -d $(q "$db") \
            -c \"SELECT version FROM schema_migrations ORDER BY version\""
    )
    missing=$(comm -23 <(echo "$migrations") <(echo "$applied" | sort))
    if [[ -z $migrations || -n $missing ]]; then
        log "image $name: migrations not applied: ${missing:-the image has none}"
        return 1
    fi
    applied=$(wc -l <<<"$applied")

    port=$(sed -n 's/^CRM_GRPC_LISTEN=127.0.0.1://p' <<<"$(printf '%s\n' "${envs[@]}")")
    image_exec "$mnt" "$bind" "${envs[@]}" CRM_MIGRATE_ON_START=false -- </dev/null >>"$logf" 2>&1 &
    pid=$!
    local t_serve=$SECONDS serving=0
    while ((SECONDS - t_serve < 30)) && alive "$pid"; do
        if [[ $(grpc_health "$port") == SERVING ]]; then
            serving=1
            break
        fi
        sleep 0.3
    done
    if ((!serving)); then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        tail -n 20 "$logf" >&2
        log "image $name: not SERVING on 127.0.0.1:$port (log: $logf)"
        return 1
    fi
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    if ((rc != 0)); then
        tail -n 20 "$logf" >&2
        log "image $name: exit code $rc after SIGTERM (log: $logf)"
        return 1
    fi
    printf '[stack] image %-13s %6.1f MB  %2s migrations applied  SERVING  SIGTERM -> exit 0  (%ss)\n' "$name" \
        "$(awk -v b="$bytes" 'BEGIN {print b / 1000000}')" "$applied" $((SECONDS - t)) >&2
    if ((bytes > IMAGE_MAX_BYTES)); then
        log "image $name: $bytes bytes uncompressed, over the $IMAGE_MAX_BYTES budget"
        return 1
    fi
}

step_images() {
    load_secrets
    local t=$SECONDS name ref failed=0 count=0 ok=0
    CRM_BUILD_DIR="$BUILD" CRM_LOCAL_DIR="$LOCAL" "$REPO/deploy/images/build" || return 1
    log "images built in $((SECONDS - t))s; smoke test of each"
    local images=() line
    mapfile -t images <"$LOCAL/images/built"
    for line in "${images[@]}"; do
        read -r name ref <<<"$line"
        if image_smoke_one "$name" "$ref" </dev/null; then ok=$((ok + 1)); else failed=1; fi
        count=$((count + 1))
    done
    log "images: $ok of $count started from their image, migrated and SERVING in $((SECONDS - t))s in all"
    return $failed
}
