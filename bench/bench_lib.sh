# What the bench scripts share on top of tests/integration/lib.sh (source that first):
# stop_bounded, and the bench broker.

# stop_bounded NAME SECONDS: SIGTERM, SIGKILL after SECONDS; returns the exit status.
stop_bounded() {
    local pid=${PIDS[$1]:-} rc=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    (sleep "$2" && kill -KILL "$pid" 2>/dev/null) &
    local watchdog=$!
    wait "$pid" 2>/dev/null || rc=$?
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    unset "PIDS[$1]"
    return $rc
}

# start_bench_broker NAME: like the integration tests' broker, plus: 1000 in flight per client
# (announced as MQTT v5 receive maximum: the publishers' QoS 1 window), a queue bound above
# what one run sends, subscription logging (so a script knows when its subscriber is in), and
# TCP_NODELAY as docs/operations.md asks (a PUBACK would otherwise wait for a delayed ACK).
# Sets MQTT_PORT; NAME prefixes the failure line.
start_bench_broker() {
    MQTT_PORT=$(free_port) || return 1
    mkdir -p "$WORK/mosquitto"
    cat >"$WORK/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/mosquitto/
max_queued_messages 0
max_queued_bytes 1073741824
max_inflight_messages 1000
set_tcp_nodelay true
user $(id -un)
log_dest file $WORK/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
CONF
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" 2>>"$WORK/mosquitto.stderr" &
    PIDS[broker]=$!
    wait_until 10 port_busy "$MQTT_PORT" || { echo "# $1: broker did not start"; return 1; }
}
