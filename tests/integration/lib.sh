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

# free_udp_port [EXCEPT...]: a port below the ephemeral range that no UDP socket holds (and
# not one of EXCEPT).
free_udp_port() {
    local p
    for _ in $(seq 200); do
        p=$((10000 + RANDOM % 22000))
        case " $* " in *" $p "*) continue ;; esac
        python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null && { echo "$p"; return 0; }
    done
    return 1
}

# start_bridge [flags...]: updraft-bridge on a free UDP port (COAP_PORT), to the broker on
# MQTT_PORT; sets COAP (coap://127.0.0.1:PORT). With --coap.psk_file=FILE it also listens for
# DTLS on COAPS_PORT (COAPS: coaps://127.0.0.1:PORT). Waits until GET /status answers (gives
# up at once when the bridge exits).
start_bridge() {
    COAP_PORT=${COAP_PORT:-$(free_udp_port)}
    COAPS_PORT=${COAPS_PORT:-$(free_udp_port "$COAP_PORT")}
    COAP=coap://127.0.0.1:$COAP_PORT
    COAPS=coaps://127.0.0.1:$COAPS_PORT
    "$BRIDGE_BIN" --mqtt.port="$MQTT_PORT" --coap.port="$COAP_PORT" --coap.dtls_port="$COAPS_PORT" \
        --mqtt.reconnect_max=2s "$@" 2>>"$WORK/bridge.log" &
    PIDS[bridge]=$!
    local deadline=$((SECONDS + 20))
    until coap_ok "$COAP/status"; do
        if ! kill -0 "${PIDS[bridge]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "# bridge did not start"
            tail -20 "$WORK/bridge.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# coap_ok URI [coap-client args]: a GET on URI answers 2.xx with a payload.
coap_ok() { local uri=$1; shift; "$COAP_CLIENT" -B 2 -m get "$@" "$uri" 2>/dev/null | grep -q .; }

# coap_request METHOD URI [coap-client args]: one request with coap-client-openssl. Prints the
# code of the last response (2.04, 4.00, ...; "none" when nothing answered within -B, 10 s
# unless the args say otherwise) on the first line, then that response's payload. The code is
# read off libcoap's log of the PDUs (-v 7 writes it to stdout as lines "v:1 t:ACK c:4.04
# i:3f2a {01} [ options ] :: ..."; a request shows its method there, an empty ACK 0.00, a
# Block1 continue 2.31); the payload of a 2.xx from -o FILE; for 4.xx/5.xx coap-client prints
# "4.00 <payload>" on stderr (non-printable bytes as '.'). The whole log stays in
# $WORK/coap-last.log, the last response's PDU line in $WORK/coap-last.pdu (its options:
# Max-Age, Size1, Observe...).
coap_request() {
    local method=$1 uri=$2
    shift 2
    local d
    d=$(mktemp -d "$WORK/coap.XXXXXX")
    "$COAP_CLIENT" -B 10 -v 7 -m "$method" -o "$d/out" "$@" "$uri" >"$d/log" 2>"$d/err"
    grep -E '^v:1 t:(ACK|CON|NON) c:[2-5]\.[0-9][0-9] ' "$d/log" | grep -v ' c:2\.31 ' | tail -n 1 >"$d/pdu"
    [ -s "$d/pdu" ] || grep -E '^v:1 t:(ACK|CON|NON) c:2\.31 ' "$d/log" | tail -n 1 >"$d/pdu"
    local code
    code=$(awk '{ sub(/^c:/, "", $3); print $3 }' "$d/pdu")
    cp "$d/log" "$WORK/coap-last.log"
    cp "$d/pdu" "$WORK/coap-last.pdu"
    echo "${code:-none}"
    case $code in
    [45].*) grep -E "^${code//./\.}( |\$)" "$d/err" | tail -n 1 | cut -c6- ;;
    *) [ -f "$d/out" ] && cat "$d/out" ;;
    esac
    rm -rf "$d"
}

# coap_post URI CONTENT_FORMAT FILE [coap-client args]: POSTs FILE's bytes with that
# Content-Format (an empty CONTENT_FORMAT sends none); prints as coap_request does.
coap_post() {
    local uri=$1 cf=$2 file=$3
    shift 3
    if [ -n "$cf" ]; then
        coap_request post "$uri" -t "$cf" -f "$file" "$@"
    else
        coap_request post "$uri" -f "$file" "$@"
    fi
}

# coap_get URI [coap-client args]: a GET; prints as coap_request does.
coap_get() { local uri=$1; shift; coap_request get "$uri" "$@"; }

# coap_code OUTPUT / coap_payload OUTPUT: the first line / the rest of coap_request's output.
coap_code() { printf '%s\n' "$1" | head -n 1; }
coap_payload() { printf '%s\n' "$1" | tail -n +2; }

# coap_observe NAME URI SECONDS [coap-client args]: a GET with Observe for SECONDS in the
# background (PIDS[NAME]); every notification's payload goes to $WORK/NAME.out, one a line,
# the PDU log to $WORK/NAME.log.
coap_observe() {
    local name=$1 uri=$2 secs=$3
    shift 3
    "$COAP_CLIENT" -B $((secs + 5)) -v 7 -m get -s "$secs" -w -o "$WORK/$name.out" "$@" "$uri" \
        >"$WORK/$name.log" 2>&1 &
    PIDS[$name]=$!
}

# bridge_status [coap-client args]: GET /status of the bridge (its JSON), e.g.
# bridge_status | jq .published
bridge_status() { "$COAP_CLIENT" -B 5 -m get "$@" "$COAP/status" 2>/dev/null; }

# mqtt_watch NAME TOPIC...: mosquitto_sub -v on the topics in the background (PIDS[NAME]),
# "topic payload" lines to $WORK/NAME.txt; returns once the subscription is live (a probe
# published on probe/NAME has come back), so nothing published afterwards is missed.
mqtt_watch() {
    local name=$1
    shift
    local args=()
    for t in "$@"; do args+=(-t "$t"); done
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v -q 1 "${args[@]}" -t "probe/$name" \
        >"$WORK/$name.txt" 2>/dev/null &
    PIDS[$name]=$!
    local deadline=$((SECONDS + 10))
    until grep -q "^probe/$name " "$WORK/$name.txt"; do
        mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t "probe/$name" -m up 2>/dev/null
        [ "$SECONDS" -ge "$deadline" ] && { echo "# mosquitto_sub did not subscribe"; return 1; }
        sleep 0.1
    done
}

# mqtt_seen NAME TOPIC: the payloads mqtt_watch NAME saw on TOPIC (exactly), one a line.
mqtt_seen() { awk -v t="$2" 'index($0, t " ") == 1 { print substr($0, length(t) + 2) }' "$WORK/$1.txt"; }

# mqtt_count NAME TOPIC: how many messages mqtt_watch NAME saw on TOPIC.
mqtt_count() { mqtt_seen "$1" "$2" | wc -l; }

# mqtt_retained TOPIC: the retained message on TOPIC ("" when none within 2 s).
mqtt_retained() { mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$1" -C 1 -W 2 --retained-only 2>/dev/null; }

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
    # Only the test's own shell: a subshell killed before it reset the traps it was forked with
    # (a watchdog `(sleep N; kill ...) &`) would otherwise kill everything and remove $WORK.
    [ "$BASHPID" = "$$" ] || return 0
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

# jq_true FILTER [jq options] < JSON: the filter holds (options such as --argjson NAME VALUE
# or --slurpfile NAME FILE go to jq). Empty input fails (jq -e alone would pass it).
jq_true() {
    local in filter=$1
    shift
    in=$(cat)
    [ -n "$in" ] && jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$in"
}

# host_field HOST FIELD: value of one field of a host in /api/v1/hosts.
host_field() { api /api/v1/hosts | jq -r --arg h "$1" ".hosts[] | select(.id == \$h) | .$2"; }

stat_field() { api /api/v1/query/stats | jq -r "$1"; }

finish() { exit $((TEST_FAILED > 0)); }
