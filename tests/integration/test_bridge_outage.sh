#!/usr/bin/env bash
# The broker goes away under the real updraft-bridge (docs/coap.md: "2.04 means the broker
# has it"): with mosquitto stopped a POST is 5.03 "broker unavailable" with Max-Age =
# retry_after (10 s) and is never published, not even once the broker is back; the bridge
# reconnects by itself and the next POST is 2.04. A POST waiting for its PUBACK (broker
# frozen with SIGSTOP) gets no answer (the 2.04 rides on the ACK once the PUBACK is in), and
# 5.03 when the connection then drops; beyond --coap.max_pending waiting requests a POST is 5.03 at once; a PUBACK later than
# --coap.puback_timeout is 5.03; a broker refusing the message (ACL) is 5.03. A persistent
# MQTT session (clean session off, QoS 1) sees everything the bridge publishes across the
# restarts.
source "$(dirname "$0")/lib.sh"

start_broker || exit 1
# Persistent session: the broker keeps what is published for it while it is disconnected,
# so a late publication of a refused request would still show up here.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i "it-watch-$$" -c -q 1 -v -t 'updraft/v1/#' -t 'probe/#' \
    >"$WORK/mq.txt" 2>/dev/null &
PIDS[mq]=$!
probe_seen() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t probe/up -m "$1" 2>/dev/null; grep -q "^probe/up $1\$" "$WORK/mq.txt"; }
wait_until 10 probe_seen 1 || { echo "# the watcher did not subscribe"; exit 1; }
start_bridge --coap.max_pending=1 --coap.puback_timeout=5s || exit 1

pack() { echo "[{\"bn\":\"$1/\",\"n\":\"cpu.utilization\",\"v\":${2:-1}}]" >"$WORK/$1.json"; echo "$WORK/$1.json"; }
broker_is() { [ "$(bridge_status -B 2 | jq -r .broker 2>/dev/null)" = "$1" ]; }
published() { grep -c "^updraft/v1/$1/metrics " "$WORK/mq.txt"; }

out=$(coap_post "$COAP/t/out-1/metrics" 110 "$(pack out-1)")
check "with the broker up a POST is 2.04" test "$(coap_code "$out")" = 2.04
check "... and published" wait_until 5 bash -c "grep -q '^updraft/v1/out-1/metrics ' '$WORK/mq.txt'"

# Broker down.
check "mosquitto stops" stop broker TERM
check "the bridge notices: /status says the broker is not connected" wait_until 10 bash -c \
    "s=\$('$COAP_CLIENT' -B 2 -m get '$COAP/status' 2>/dev/null | jq -r .broker); [ -n \"\$s\" ] && [ \"\$s\" != connected ]"
started=$SECONDS
out=$(coap_post "$COAP/t/out-down/metrics" 110 "$(pack out-down 5)")
check "with the broker down a POST is 5.03" test "$(coap_code "$out")" = 5.03
check "the 5.03 is answered at once (not after a PUBACK timeout)" test $((SECONDS - started)) -le 3
check "the 5.03 says broker unavailable" grep -q 'broker unavailable' <<<"$(coap_payload "$out")"
check "the 5.03 carries Max-Age = retry_after (10 s)" grep -qE 'Max-Age:10( |,|\])' "$WORK/coap-last.pdu"
echo "# $(cat "$WORK/coap-last.pdu")"
out=$(coap_post "$COAP/t/out-down/heartbeat" 110 "$(pack out-down 6)")
check "a heartbeat with the broker down is 5.03 too" test "$(coap_code "$out")" = 5.03
echo '{"state":"online"}' >"$WORK/state.json"
out=$(coap_post "$COAP/t/out-down/state" 50 "$WORK/state.json")
check "a state with the broker down is 5.03 too" test "$(coap_code "$out")" = 5.03
check "GET /status answers while the broker is down" jq_true '.rejected.broker_unavailable == 3 and .pending == 0' < <(bridge_status)

# Broker back on the same port: the bridge reconnects, the next POST is 2.04.
start_broker || exit 1
check "the bridge reconnects by itself" wait_until 15 broker_is connected
out=$(coap_post "$COAP/t/out-2/metrics" 110 "$(pack out-2 2)")
check "after the reconnect a POST is 2.04" test "$(coap_code "$out")" = 2.04
check "... and published" wait_until 10 bash -c "grep -q '^updraft/v1/out-2/metrics ' '$WORK/mq.txt'"
check "the watcher's session survived the restart" wait_until 10 probe_seen 2
check "nothing refused with 5.03 was published, then or after the reconnect" bash -c \
    "! grep -qE '^updraft/v1/out-down/(metrics|heartbeat) ' '$WORK/mq.txt'"
check "the bridge did not put an online state over the refused host" bash -c \
    "! grep -qE '^updraft/v1/out-down/state ' '$WORK/mq.txt'"

# Frozen broker: the POST waits for the PUBACK (pending 1, no answer at all: the answer is
# piggybacked on the ACK), and
# gets 5.03 when the connection drops.
kill -STOP "${PIDS[broker]}"
frozen_at=$SECONDS
"$COAP_CLIENT" -B 20 -v 7 -m post -t 110 -f "$(pack out-3 3)" "$COAP/t/out-3/metrics" >"$WORK/frozen.log" 2>"$WORK/frozen.err" &
PIDS[frozen]=$!
pending_one() { [ "$(bridge_status -B 2 | jq -r .pending)" = 1 ]; }
check "/status: the POST to a frozen broker is pending for its PUBACK" wait_until 5 pending_one
check "no answer before the PUBACK (no empty ACK, no 2.04)" bash -c "! grep -qE '^v:1 t:(ACK|CON|NON) c:[0-9]\.[0-9]{2} ' '$WORK/frozen.log'"
out=$(coap_post "$COAP/t/out-busy/metrics" 110 "$(pack out-busy 9)")
check "with max_pending (1) requests waiting, the next POST is 5.03 at once" test "$(coap_code "$out")" = 5.03
check "... with Max-Age 10" grep -qE 'Max-Age:10( |,|\])' "$WORK/coap-last.pdu"
stop broker KILL
wait "${PIDS[frozen]}"
unset 'PIDS[frozen]'
check "when the connection drops the waiting POST gets 5.03 on its ACK" \
    grep -qE '^v:1 t:ACK c:5\.03 ' "$WORK/frozen.log"
check "... at once, before puback_timeout ($((SECONDS - frozen_at))s)" test $((SECONDS - frozen_at)) -lt 5
check "... not a 2.04" bash -c "! grep -qE '^v:1 t:(ACK|CON) c:2\.04 ' '$WORK/frozen.log'"
check "/status: nothing pending, 5 refused for the broker" jq_true '.pending == 0 and .rejected.broker_unavailable == 5' < <(bridge_status)

start_broker || exit 1
check "the bridge reconnects after the broker was killed" wait_until 15 broker_is connected
out=$(coap_post "$COAP/t/out-4/metrics" 110 "$(pack out-4 4)")
check "and the next POST is 2.04" test "$(coap_code "$out")" = 2.04
check "... and published" wait_until 10 bash -c "grep -q '^updraft/v1/out-4/metrics ' '$WORK/mq.txt'"
check "out-1, out-2, out-4 were each published once" bash -c \
    "[ \$(grep -c '^updraft/v1/out-1/metrics ' '$WORK/mq.txt') -eq 1 ] && [ \$(grep -c '^updraft/v1/out-2/metrics ' '$WORK/mq.txt') -eq 1 ] && [ \$(grep -c '^updraft/v1/out-4/metrics ' '$WORK/mq.txt') -eq 1 ]"
check "the busy refusal was not published" bash -c "! grep -q '^updraft/v1/out-busy/metrics ' '$WORK/mq.txt'"

# A PUBACK that does not come within puback_timeout (5 s): 5.03, then the late PUBACK of an
# answered request is ignored and the bridge carries on.
kill -STOP "${PIDS[broker]}"
started=$SECONDS
out=$(coap_post "$COAP/t/out-5/metrics" 110 "$(pack out-5 5)" -B 15)
took=$((SECONDS - started))
kill -CONT "${PIDS[broker]}"
check "no PUBACK within puback_timeout: 5.03 (after ${took}s)" test "$(coap_code "$out")" = 5.03
check "... not before puback_timeout, nor long after" bash -c "[ $took -ge 4 ] && [ $took -le 10 ]"
out=$(coap_post "$COAP/t/out-6/metrics" 110 "$(pack out-6 6)")
check "after the late PUBACK the next POST is 2.04" test "$(coap_code "$out")" = 2.04

# A broker that refuses the message (ACL: PUBACK reason 0x87, not authorized): 5.03. (Only
# out-ok/ is writable; libmosquitto 2.0.11 drops the connection after such a PUBACK, the
# bridge reconnects.)
printf 'topic read updraft/v1/#\ntopic readwrite updraft/v1/out-ok/#\ntopic readwrite probe/#\n' >"$WORK/acl"
check "mosquitto stops (to restart with an ACL)" stop broker TERM
BROKER_EXTRA="acl_file $WORK/acl" start_broker || exit 1
check "the bridge reconnects to the broker with the ACL" wait_until 15 broker_is connected
out=$(coap_post "$COAP/t/out-ok/metrics" 110 "$(pack out-ok 7)")
check "an allowed topic: 2.04" test "$(coap_code "$out")" = 2.04
out=$(coap_post "$COAP/t/out-denied/metrics" 110 "$(pack out-denied 8)")
check "a topic the broker refuses (PUBACK 0x87): 5.03" test "$(coap_code "$out")" = 5.03
check "... with Max-Age 10" grep -qE 'Max-Age:10( |,|\])' "$WORK/coap-last.pdu"
check "the bridge is connected again after the refusal" wait_until 15 broker_is connected
out=$(coap_post "$COAP/t/out-ok/metrics" 110 "$(pack out-ok 9)")
check "an allowed topic after the refusal: 2.04" test "$(coap_code "$out")" = 2.04
check "nothing of out-denied was published" bash -c "! grep -q '^updraft/v1/out-denied/' '$WORK/mq.txt'"

status=$(bridge_status)
echo "# status: $status"
check "/status: connected, and no rejection but the 7 for the broker" jq_true \
    '.broker == "connected" and .pending == 0 and .rejected.broker_unavailable == 7 and ([.rejected[]] | add) == 7' <<<"$status"
check "the bridge is alive" kill -0 "${PIDS[bridge]}"
check "the bridge stops cleanly on SIGTERM (status 0, no leak)" stop bridge TERM
finish
