# Helpers for integration tests against real processes: a real mosquitto on a free port
# from a generated config, the real hub and agent (the sanitized build), polling (never a
# fixed sleep), TAP output ("ok N - name" / "not ok N - name"), and cleanup by PID.
# Source it, then call the functions; every process started is stopped on exit.
set -uo pipefail

BUILD=${UPDRAFT_BUILD:-build/asan}
HUB_BIN=$BUILD/updraft-hub
AGENT_BIN=$BUILD/updraft-agent
BRIDGE_BIN=$BUILD/updraft-bridge
COAP_CLIENT=$(command -v coap-client-openssl || echo /usr/bin/coap-client-openssl)
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
WORK=$(mktemp -d /tmp/updraft-it.XXXXXX)
TEST_NO=0
TEST_FAILED=0
declare -A PIDS=()

ok() { TEST_NO=$((TEST_NO + 1)); echo "ok $TEST_NO - $*"; }
not_ok() { TEST_NO=$((TEST_NO + 1)); TEST_FAILED=$((TEST_FAILED + 1)); echo "not ok $TEST_NO - $*"; }

# check "name" command...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# wait_until SECONDS command...: polls every 0.1 s until the command succeeds.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while :; do
        "$@" && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local p
    for _ in $(seq 200); do
        # Below the kernel's ephemeral range (ip_local_port_range, 32768.. by default): a port
        # in it can be taken by an outgoing connection between this check and the bind.
        p=$((10000 + RANDOM % 22000))
        port_busy "$p" || { echo "$p"; return 0; }
    done
    return 1
}

# start_broker: writes a config and starts mosquitto; sets MQTT_PORT. BROKER_EXTRA (lines of
# mosquitto.conf, e.g. a TLS listener) is appended when set.
start_broker() {
    MQTT_PORT=${MQTT_PORT:-$(free_port)}
    mkdir -p "$WORK/mosquitto"
    cat >"$WORK/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/mosquitto/
max_queued_messages 0
max_queued_bytes 268435456
# Small packets (PUBACKs) go out at once, not after a delayed ACK (40 ms).
set_tcp_nodelay true
user $(id -un)
log_dest file $WORK/mosquitto.log
${BROKER_EXTRA:-}
CONF
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" 2>>"$WORK/mosquitto.stderr" &
    PIDS[broker]=$!
    wait_until 10 port_busy "$MQTT_PORT" || { echo "# broker did not start"; cat "$WORK/mosquitto.log" >&2; return 1; }
}

# start_hub [flags...]: starts the hub on a free HTTP port; sets HTTP_PORT and API.
start_hub() {
    HTTP_PORT=${HTTP_PORT:-$(free_port)}
    API=http://127.0.0.1:$HTTP_PORT
    "$HUB_BIN" --mqtt.port="$MQTT_PORT" --http.port="$HTTP_PORT" --store.path="$WORK/hub.db" \
        --hosts.stale_after=10s --mqtt.reconnect_max=2s "$@" 2>>"$WORK/hub.log" &
    PIDS[hub]=$!
    wait_until 20 curl -fs -o /dev/null "$API/health" || { echo "# hub did not start"; tail -20 "$WORK/hub.log" >&2; return 1; }
}

# start_agent HOST_ID [flags...]: the agent with its spool in $WORK/spool-HOST and quick
# reconnects (later flags override these).
start_agent() {
    local host=$1
    shift
    "$AGENT_BIN" --mqtt.port="$MQTT_PORT" --agent.host_id="$host" --spool.dir="$WORK/spool-$host" \
        --mqtt.reconnect_max=2s --mqtt.connect_timeout=2s "$@" 2>>"$WORK/agent-$host.log" &
    PIDS[agent-$host]=$!
}

# start_bridge [flags...]: updraft-bridge on a free UDP port (COAP_PORT), to the broker on
# MQTT_PORT; sets COAP (coap://127.0.0.1:PORT). With --coap.psk_file=FILE it also listens for
# DTLS on COAPS_PORT (COAPS: coaps://127.0.0.1:PORT). Waits until GET /status answers.
start_bridge() {
    COAP_PORT=${COAP_PORT:-$(free_port)}
    COAPS_PORT=${COAPS_PORT:-$(free_port)}
    COAP=coap://127.0.0.1:$COAP_PORT
    COAPS=coaps://127.0.0.1:$COAPS_PORT
    "$BRIDGE_BIN" --mqtt.port="$MQTT_PORT" --coap.port="$COAP_PORT" --coap.dtls_port="$COAPS_PORT" \
        --mqtt.reconnect_max=2s "$@" 2>>"$WORK/bridge.log" &
    PIDS[bridge]=$!
    wait_until 20 coap_ok "$COAP/status" || { echo "# bridge did not start"; tail -20 "$WORK/bridge.log" >&2; return 1; }
}

# coap_ok URI: a GET on URI answers 2.05.
coap_ok() { "$COAP_CLIENT" -B 2 -m get "$1" 2>/dev/null | grep -q .; }

# coap_post URI CONTENT_FORMAT FILE [coap-client args]: POSTs FILE's bytes; prints the
# response code (e.g. 2.04, 4.00) on the first line, then the payload. Uses -v 7 to read
# the code off libcoap's log (coap-client prints only the payload otherwise).
coap_post() {
    local uri=$1 cf=$2 file=$3
    shift 3
    "$COAP_CLIENT" -B 10 -v 7 -m post -t "$cf" -f "$file" "$@" "$uri" 2>&1 |
        awk '/^v:1 t:(ACK|CON|NON) c:[0-9]\.[0-9][0-9]/ { split($3, c, ":"); if (c[2] != "0.00" && c[2] !~ /^0\./) code = c[2] } END { print code }'
}

# heartbeat_value HOST NAME: the value of record NAME in the host's next heartbeat (waits up
# to 15 s for one), e.g. heartbeat_value web-1 agent.spool_packs.
heartbeat_value() {
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$1/heartbeat" -C 1 -W 15 2>/dev/null |
        jq -r --arg n "$2" '.[] | select(.n == $n) | .v'
}

# stop NAME [SIGNAL]: signals the process and waits for it; returns its exit status.
stop() {
    local pid=${PIDS[$1]:-}
    [ -n "$pid" ] || return 0
    kill -"${2:-TERM}" "$pid" 2>/dev/null
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    unset "PIDS[$1]"
    return $rc
}

cleanup() {
    for name in "${!PIDS[@]}"; do kill -KILL "${PIDS[$name]}" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$TEST_FAILED" -gt 0 ]; then
        for f in "$WORK"/*.log; do echo "# --- $f"; tail -n 15 "$f" | sed 's/^/# /'; done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

api() { curl -fsS "$API$1"; }

# api_status PATH [curl args]: prints the HTTP status code only.
api_status() { local p=$1; shift; curl -s -o "$WORK/last.json" -w '%{http_code}' "$@" "$API$p"; }

# jq_true FILTER < JSON: the filter holds. Empty input fails (jq -e alone would pass it).
jq_true() {
    local in
    in=$(cat)
    [ -n "$in" ] && jq -e "$1" >/dev/null 2>&1 <<<"$in"
}

# host_field HOST FIELD: value of one field of a host in /api/v1/hosts.
host_field() { api /api/v1/hosts | jq -r --arg h "$1" ".hosts[] | select(.id == \$h) | .$2"; }

stat_field() { api /api/v1/query/stats | jq -r "$1"; }

finish() { exit $((TEST_FAILED > 0)); }
