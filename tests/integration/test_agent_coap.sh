#!/usr/bin/env bash
# The agent's CoAP transport end to end: mosquitto, the hub, updraft-bridge and agents with
# [agent] transport = coap. Samples reach the hub's query API as SenML CBOR through the bridge;
# the hub's acks come back through an Observe and empty the spool; a retained config pushed on
# the broker is applied. With the broker stopped the bridge answers 5.03 and the agent keeps
# spooling; once it is back every sample of the whole run arrives, none lost, none twice. A
# restarted bridge is followed (the agent observes again when acks stop). Over DTLS with a
# pre-shared key a known identity delivers and a wrong key is refused. An MQTT agent maps no
# libcoap.
source "$(dirname "$0")/lib.sh"

HOST=coap-1
DTLS_HOST=coap-dtls
OUTAGE_S=${OUTAGE_S:-20}
FLAGS=(--agent.transport=coap --agent.interval=1s --agent.heartbeat_interval=1s
    --agent.collectors=cpu,mem --spool.resend_after=5s --spool.backfill_rate=10
    --coap.reconnect_max=2s)

# The bridge's PSK file: identity, the host it may post for, key.
printf 'psk-good %s hex:00112233445566778899aabbccddeeff\n' "$DTLS_HOST" >"$WORK/psk.txt"
printf 'hex:00112233445566778899aabbccddeeff\n' >"$WORK/good.key"
printf 'not-the-key\n' >"$WORK/bad.key"
chmod 0600 "$WORK"/*.key "$WORK/psk.txt"

start_broker || exit 1
start_hub || exit 1
start_bridge --coap.psk_file="$WORK/psk.txt" || exit 1
start_agent "$HOST" "${FLAGS[@]}" --coap.port="$COAP_PORT"

points() { # HOST METRIC RANGE: the datapoints the hub's query API has
    curl -fs "$API/api/v1/metrics/query?host_id=$1&metric=$2&range=${3:-5m}"
}
has_samples() { points "$1" mem.used_pct | jq_true '.datapoints | length > 0'; }
host_online() { [ "$(host_field "$1" status)" = online ]; }
spool_at_most() { local n; n=$(heartbeat_value "$HOST" agent.spool_packs); [ -n "$n" ] && [ "$n" -le "$1" ]; }

check "the CoAP agent comes online at the hub" wait_until 20 host_online "$HOST"
check "its samples reach the hub's query API" wait_until 15 has_samples "$HOST"
check "it logs the bridge it uses" grep -q "connected to coap://127.0.0.1:$COAP_PORT" "$WORK/agent-$HOST.log"
pid=${PIDS[agent-$HOST]}
check "it loaded libcoap without DTLS" grep -q libcoap-3-notls "/proc/$pid/maps"
check "the bridge relays the hub's acks: the spool empties" wait_until 20 spool_at_most 2
pack=$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$HOST/metrics" -C 1 -W 10)
check "the bridge republishes the CBOR pack as SenML JSON with bid and sq" jq_true \
    ".[0].bn == \"$HOST/\" and (.[0].bid | length == 16) and .[0].sq >= 1" <<<"$pack"
inventory_ok() {
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$HOST/inventory" -C 1 -W 5 |
        jq_true ".host == \"$HOST\""
}
check "inventory arrives through the bridge (block-wise: it is larger than a datagram)" inventory_ok

mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "updraft/v1/$HOST/config" \
    -m '{"version":7,"interval":"2s"}'
version_is() { [ "$(heartbeat_value "$HOST" agent.config_version)" = "$1" ]; }
check "a retained config pushed on the broker is applied by the CoAP agent" wait_until 20 version_is 7
check "and logged" grep -q "pushed config version 7 applied: interval 2.0s" "$WORK/agent-$HOST.log"

# Broker down: the bridge cannot deliver and says 5.03; the agent holds its packs.
stop broker
echo "# broker stopped for ${OUTAGE_S}s"
paused() { grep -q "cannot deliver (5.03" "$WORK/agent-$HOST.log"; }
check "the bridge answers 5.03 and the agent pauses" wait_until 15 paused
sleep "$OUTAGE_S"
check "the agent kept running through the outage" kill -0 "$pid"
start_broker || exit 1
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$HOST/heartbeat" >"$WORK/heartbeats.txt" 2>/dev/null &
PIDS[hbsub]=$!
check "it delivers again once the broker is back" wait_until 30 grep -q "delivers again" "$WORK/agent-$HOST.log"
check "and the spool drains" wait_until 60 spool_at_most 2
held=$(jq -s '[.[][] | select(.n == "agent.spool_packs") | .v] | max // 0' "$WORK/heartbeats.txt")
check "the spool had kept the outage's packs ($held)" test "${held%.*}" -ge 5
stop hbsub

# A restarted bridge has forgotten its observers and says nothing: when acks stop while packs
# are delivered, the agent observes again.
stop bridge KILL
start_bridge --coap.psk_file="$WORK/psk.txt" || exit 1
spool_at_least() { local n; n=$(heartbeat_value "$HOST" agent.spool_packs); [ -n "$n" ] && [ "$n" -ge "$1" ]; }
check "after a bridge restart no acks come: the spool grows" wait_until 30 spool_at_least 5
check "the agent observes again" wait_until 60 grep -q "observing again" "$WORK/agent-$HOST.log"
check "and the acks drain the spool" wait_until 90 spool_at_most 2

# DTLS: a known identity delivers, a wrong key is refused.
start_agent "$DTLS_HOST" "${FLAGS[@]}" --coap.port="$COAPS_PORT" --coap.psk_identity=psk-good \
    --coap.psk_key_file="$WORK/good.key"
check "an agent with a good PSK identity delivers over DTLS" wait_until 30 has_samples "$DTLS_HOST"
check "it logs a coaps:// bridge" grep -q "connected to coaps://127.0.0.1:$COAPS_PORT" "$WORK/agent-$DTLS_HOST.log"
check "it loaded libcoap's DTLS build" grep -q libcoap-3-openssl "/proc/${PIDS[agent-$DTLS_HOST]}/maps"
start_agent coap-badkey "${FLAGS[@]}" --coap.port="$COAPS_PORT" --coap.psk_identity=psk-good \
    --coap.psk_key_file="$WORK/bad.key"
check "a wrong key is refused and the agent says why" wait_until 30 grep -q "DTLS handshake did not complete" "$WORK/agent-coap-badkey.log"
no_samples() { ! has_samples "$1"; }
check "and nothing of it reaches the hub" no_samples coap-badkey
stop agent-coap-badkey
stop "agent-$DTLS_HOST"

start_agent mqtt-1 --agent.interval=1s --agent.collectors=cpu,mem
check "an MQTT agent connects" wait_until 20 has_samples mqtt-1
mqtt_maps=/proc/${PIDS[agent-mqtt-1]}/maps
check "and maps no libcoap" bash -c "test -r $mqtt_maps && ! grep -q libcoap $mqtt_maps"
stop agent-mqtt-1

# Every pack of the run, once: the clean stop drains the spool, its log line says how many.
check "the CoAP agent stops cleanly" stop "agent-$HOST"
check "with nothing left in its spool" bash -c "grep 'ends at pack' '$WORK/agent-$HOST.log' | tail -n 1 | grep -q ' 0 packs stay in the spool'"
expected=$(grep -oE 'ends at pack [0-9]+' "$WORK/agent-$HOST.log" | tail -n 1 | grep -oE '[0-9]+$')
all_there() { points "$HOST" mem.used_pct 15m | jq_true ".datapoints | length == ${expected:-0}"; }
check "the hub has one sample per pack ($expected), none lost" wait_until 10 all_there
q=$(points "$HOST" mem.used_pct 15m)
check "none twice" jq_true '[.datapoints[].ts] | length == (unique | length)' <<<"$q"
g=$(api "/api/v1/hosts/$HOST/gaps")
echo "# gaps: $(jq -c '.totals' <<<"$g")"
check "the loss ledger shows no gap" jq_true '.totals.open_gaps == 0 and .totals.missing_packs == 0' <<<"$g"
finish
