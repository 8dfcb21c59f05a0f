#!/usr/bin/env bash
# Bad input against the real updraft-bridge (docs/coap.md, "Errors"): malformed CBOR and JSON
# are 4.00 with a diagnostic naming the record and field, other content-formats 4.15, a body
# over --coap.max_body 4.13 (with Size1), unknown paths and host ids 4.04, wrong methods 4.05;
# a block-wise transfer cut short is dropped, one starting at block 2 is 4.08, and a request
# after them still succeeds; the exact same CON datagram sent again (same message id and
# token, raw UDP) is held while the first waits for its PUBACK, answered with it, answered
# again from memory later, and published once. Nothing rejected reaches
# MQTT, the bridge stays up, stops cleanly, and GET /status counts each rejection under its
# reason.
source "$(dirname "$0")/lib.sh"

UDP="python3 tests/tools/coap_udp.py"
start_broker || exit 1
mqtt_watch mq 'updraft/v1/#' || exit 1
start_bridge --coap.max_body=4096 || exit 1

declare -A expected=([bad_request]=0 [forbidden]=0 [not_found]=0 [method]=0 [too_large]=0
    [unsupported_format]=0 [broker_unavailable]=0)
# expect NAME CODE REASON PAYLOAD_ERE OUTPUT: OUTPUT (of coap_post/coap_get) has CODE and a
# diagnostic payload matching PAYLOAD_ERE (grep -E; "" for any non-empty one); one more
# rejection is expected under REASON ("-" for none).
expect() {
    local name=$1 code=$2 reason=$3 re=$4 out=$5 got payload
    got=$(coap_code "$out")
    payload=$(coap_payload "$out")
    [ "$reason" = - ] || expected[$reason]=$((${expected[$reason]} + 1))
    if [ "$got" != "$code" ]; then
        not_ok "$name is $code (got $got${payload:+: $payload})"
        return
    fi
    if [ -n "$payload" ] && grep -qE -- "${re:-.}" <<<"$payload"; then
        ok "$name is $code with a diagnostic ($payload)"
    else
        not_ok "$name is $code with a diagnostic matching /${re:-.}/ (got \"$payload\")"
    fi
}
M=$COAP/t/bad-1/metrics
bytes() { printf "$1" >"$WORK/$2"; }
good_pack() { echo "[{\"bn\":\"$1/\",\"n\":\"cpu.utilization\",\"v\":${2:-1}}]" >"$WORK/good-$1.json"; echo "$WORK/good-$1.json"; }

# ---- 4.00: not CBOR, not a pack, records breaking RFC 8428
python3 -c 'import random, sys
r = random.Random(8428)
sys.stdout.buffer.write(bytes([0x9f]) + bytes(r.randrange(256) for _ in range(63)))' >"$WORK/random.cbor"
expect "64 random bytes as CBOR" 4.00 bad_request '' "$(coap_post "$M" 112 "$WORK/random.cbor")"
head -c 40 ../shared/senml-rfc8428/ex3.gen.cbor >"$WORK/cut.cbor"
expect "a CBOR pack cut short (ex3.gen.cbor, 40 of 123 bytes)" 4.00 bad_request 'record 0|pack|truncat' "$(coap_post "$M" 112 "$WORK/cut.cbor")"
bytes '\x81\xa2\x00\x64temp\x02\x6212' wrongv.cbor      # [{0:"temp", 2:"12"}]
expect "CBOR with a text v" 4.00 bad_request 'record 0: field "v"' "$(coap_post "$M" 112 "$WORK/wrongv.cbor")"
bytes '\x83\xa2\x00\x61a\x02\x01\xa2\x00\x61b\x02\x02\xa2\x00\x61c\x02\xf5' wrongv2.cbor  # [{0:"a",2:1},{0:"b",2:2},{0:"c",2:true}]
expect "CBOR with a boolean v in record 2" 4.00 bad_request 'record 2: field "v"' "$(coap_post "$M" 112 "$WORK/wrongv2.cbor")"
bytes '\x81\xa2\x00\x05\x02\x01' wrongn.cbor            # [{0:5, 2:1}]
expect "CBOR with an integer n" 4.00 bad_request 'record 0: field "n"' "$(coap_post "$M" 112 "$WORK/wrongn.cbor")"
bytes '\xa2\x00\x61a\x02\x01' map.cbor                 # {0:"a", 2:1}: a record, not a pack
expect "a CBOR map instead of an array" 4.00 bad_request '' "$(coap_post "$M" 112 "$WORK/map.cbor")"
bytes '\x81\xa1\x00\x61a' novalue.cbor                  # [{0:"a"}]
expect "a CBOR record without a value" 4.00 bad_request 'record 0' "$(coap_post "$M" 112 "$WORK/novalue.cbor")"
: >"$WORK/empty"
expect "an empty CBOR body" 4.00 bad_request '' "$(coap_post "$M" 112 "$WORK/empty")"
echo '[{"n":"cpu.utilization","v":"12"}]' >"$WORK/wrongv.json"
expect "SenML JSON with a string v" 4.00 bad_request 'record 0: field "v"' "$(coap_post "$M" 110 "$WORK/wrongv.json")"
echo '[{"n":"bad name!","v":1}]' >"$WORK/badname.json"
expect "SenML JSON with an invalid name" 4.00 bad_request 'record 0' "$(coap_post "$M" 110 "$WORK/badname.json")"
printf '[{"n":"x","v":1' >"$WORK/cut.json"
expect "SenML JSON cut short" 4.00 bad_request '' "$(coap_post "$M" 110 "$WORK/cut.json")"
expect "CBOR posted as SenML JSON (110)" 4.00 bad_request '' "$(coap_post "$M" 110 ../shared/senml-rfc8428/ex3.gen.cbor)"
echo '{"n":"cpu.utilization","v":1}' >"$WORK/object.json"
expect "JSON (50) that is an object, not a pack, on metrics" 4.00 bad_request '' "$(coap_post "$M" 50 "$WORK/object.json")"
echo '[1,2]' >"$WORK/array.json"
expect "an inventory that is not an object" 4.00 bad_request '' "$(coap_post "$COAP/t/bad-1/inventory" 50 "$WORK/array.json")"
echo '{"state":"sleepy"}' >"$WORK/sleepy.json"
expect "a state neither online nor offline" 4.00 bad_request '' "$(coap_post "$COAP/t/bad-1/state" 50 "$WORK/sleepy.json")"
out=$(coap_post "$COAP/t/dev-b/metrics" 110 "$(good_pack dev-b)")
check "a good pack from dev-b is answered 2.04" test "$(coap_code "$out")" = 2.04

# ---- 4.15: content-formats not in the table
expect "text/plain (0) on metrics" 4.15 unsupported_format '' "$(coap_post "$M" 0 "$WORK/wrongv.json")"
expect "application/cbor (60) on metrics" 4.15 unsupported_format '60' "$(coap_post "$M" 60 ../shared/senml-rfc8428/ex3.gen.cbor)"
expect "no content-format on metrics" 4.15 unsupported_format '' "$(coap_post "$M" '' "$(good_pack bad-1)")"
expect "SenML CBOR (112) on inventory" 4.15 unsupported_format '112' "$(coap_post "$COAP/t/bad-1/inventory" 112 ../shared/senml-rfc8428/ex3.gen.cbor)"
expect "SenML JSON (110) on state" 4.15 unsupported_format '' "$(coap_post "$COAP/t/bad-1/state" 110 "$WORK/sleepy.json")"

# ---- 4.13: over --coap.max_body=4096 (and exactly 4096 passes)
sized_pack() { # sized_pack HOST BYTES: a valid SenML JSON pack of exactly BYTES bytes
    local head="[{\"bn\":\"$1/\",\"n\":\"note\",\"vs\":\"" tail='"}]'
    local pad=$(($2 - ${#head} - ${#tail}))
    { printf '%s' "$head"; head -c "$pad" /dev/zero | tr '\0' x; printf '%s' "$tail"; } >"$WORK/sized-$2.json"
    echo "$WORK/sized-$2.json"
}
f=$(sized_pack big-1 4096)
check "the 4096-byte pack is 4096 bytes" test "$(stat -c %s "$f")" = 4096
out=$(coap_post "$COAP/t/big-1/metrics" 110 "$f")
check "a body of exactly max_body (4096) is answered 2.04" test "$(coap_code "$out")" = 2.04
f=$(sized_pack big-2 4097)
expect "a body of 4097 bytes" 4.13 too_large '4096' "$(coap_post "$COAP/t/big-2/metrics" 110 "$f")"
check "the 4.13 carries Size1 = 4096" grep -qE 'Size1:4096' "$WORK/coap-last.pdu"
head -c 70000 /dev/zero | tr '\0' ' ' >"$WORK/70k.json"
expect "a body of 70000 bytes (Block1 of 1024)" 4.13 too_large '4096' "$(coap_post "$M" 110 "$WORK/70k.json")"
expect "a body of 5000 bytes in 64-byte blocks" 4.13 too_large '' "$(coap_post "$COAP/t/big-2/metrics" 110 "$(sized_pack big-2 5000)" -b 64)"

# ---- 4.04: paths outside the table, invalid host ids
expect "an unknown resource of a host" 4.04 not_found 'nope' "$(coap_post "$COAP/t/bad-1/nope" 110 "$(good_pack bad-1)")"
expect "an unknown top-level path" 4.04 not_found '' "$(coap_post "$COAP/metrics" 110 "$(good_pack bad-1)")"
expect "a host id with a space" 4.04 not_found 'bad( |%20)host' "$(coap_post "$COAP/t/bad%20host/metrics" 110 "$(good_pack bad-1)")"
expect "a host id of 65 characters" 4.04 not_found '' "$(coap_post "$COAP/t/$(printf 'h%.0s' $(seq 65))/metrics" 110 "$(good_pack bad-1)")"
expect "a host id with a '!'" 4.04 not_found '' "$(coap_post "$COAP/t/bad%21host/metrics" 110 "$(good_pack bad-1)")"
expect "/t/<host> without a resource" 4.04 not_found '' "$(coap_post "$COAP/t/bad-1" 110 "$(good_pack bad-1)")"
expect "a path one level too deep" 4.04 not_found '' "$(coap_post "$COAP/t/bad-1/metrics/x" 110 "$(good_pack bad-1)")"
# coap-client would normalise "..": the segments go by hand.
raw=$($UDP --port "$COAP_PORT" --seg t --seg .. --seg metrics --cf 110 --file "$(good_pack bad-1)")
expected[not_found]=$((${expected[not_found]} + 1))
check "host id '..' (raw Uri-Path) is 4.04" jq_true 'any(.[]; .code == "4.04")' --slurp <<<"$raw"
raw=$($UDP --port "$COAP_PORT" --seg t --seg . --seg metrics --cf 110 --file "$(good_pack bad-1)")
expected[not_found]=$((${expected[not_found]} + 1))
check "host id '.' (raw Uri-Path) is 4.04" jq_true 'any(.[]; .code == "4.04")' --slurp <<<"$raw"

# ---- 4.05: a method the resource does not take
expect "GET on metrics" 4.05 method '' "$(coap_get "$M")"
expect "PUT on metrics (the diagnostic names POST)" 4.05 method 'POST' "$(coap_post "$M" 110 "$(good_pack bad-1)" -m put)"
expect "DELETE on heartbeat (the diagnostic names POST)" 4.05 method 'POST' "$(coap_request delete "$COAP/t/bad-1/heartbeat")"
expect "POST on /status" 4.05 method '' "$(coap_post "$COAP/status" 50 "$WORK/sleepy.json")"
expect "POST on config" 4.05 method '' "$(coap_post "$COAP/t/bad-1/config" 50 "$WORK/sleepy.json")"
expect "POST on ack" 4.05 method '' "$(coap_post "$COAP/t/bad-1/ack" 50 "$WORK/sleepy.json")"

# ---- Block1 cut short, and one that starts at block 2: nothing published, the next is fine.
jq -nc '[range(0; 40) | {n: "trunc.value", v: .}] | .[0].bn = "trunc-1/"' >"$WORK/trunc.json"
size=$(stat -c %s "$WORK/trunc.json")
raw=$($UDP --port "$COAP_PORT" --path t/trunc-1/metrics --cf 110 --file "$WORK/trunc.json" --length 64 --block1 0:1:64 --size1 "$size" --until any)
check "the first Block1 of a $size-byte body is answered 2.31 Continue" jq_true 'any(.[]; .code == "2.31" and .options.Block1 == "0/M/64")' --slurp <<<"$raw"
# Block 2 (the last, M=0) of a transfer whose blocks 0 and 1 never came, holding what would
# be a whole pack on its own: libcoap hands it to the handler as random access (offset 128);
# the bridge must not take it for a body.
echo '[{"bn":"trunc-1/","n":"x","v":1}]' >"$WORK/block2.json"
raw=$($UDP --port "$COAP_PORT" --path t/trunc-1/metrics --cf 110 --file "$WORK/block2.json" --block1 2:0:64 --size1 162)
check "a Block1 transfer starting at block 2 is 4.08" jq_true 'any(.[]; .code == "4.08")' --slurp <<<"$raw"
# Whole Block1 transfers by hand, one session: with Size1 on the blocks (as coap-client and
# the agent send it) and without (RFC 7959 §2.5 makes Size1 optional in a request).
jq -nc '[range(0; 40) | {n: "blk.value", v: .}] | .[0].bn = "hand-1/"' >"$WORK/hand-1.json"
jq -nc '[range(0; 40) | {n: "blk.value", v: .}] | .[0].bn = "hand-2/"' >"$WORK/hand-2.json"
raw=$($UDP --port "$COAP_PORT" --path t/hand-1/metrics --cf 110 --file "$WORK/hand-1.json" --blocks 64 --size1 "$(stat -c %s "$WORK/hand-1.json")")
check "a Block1 transfer by hand (64-byte blocks, Size1) is answered 2.04" jq_true 'any(.[]; .code == "2.04") and (map(select(.code == "2.31")) | length) == (.[-1].blocks - 1)' --slurp <<<"$raw"
raw=$($UDP --port "$COAP_PORT" --path t/hand-2/metrics --cf 110 --file "$WORK/hand-2.json" --blocks 64)
echo "# without Size1: $(jq -c 'select(.code and .code != "2.31" and .code != "0.00") | {code, payload}' <<<"$raw")"
check "a Block1 transfer without Size1 is answered 2.04" jq_true 'any(.[]; .code == "2.04")' --slurp <<<"$raw"
out=$(coap_post "$COAP/t/trunc-2/metrics" 110 "$WORK/trunc.json" -b 64)
check "a whole block-wise POST after them is answered 2.04" test "$(coap_code "$out")" = 2.04
out=$(coap_post "$COAP/t/trunc-3/metrics" 110 "$(good_pack trunc-3)")
check "a plain POST after them is answered 2.04" test "$(coap_code "$out")" = 2.04

# ---- The same CON datagram again: answered each time, published once. The broker is held
# (SIGSTOP) so the second copy finds the first waiting for its PUBACK: no answer to either
# until it comes, then one ACK (same message id) answers both.
echo '[{"bn":"dup-1/","n":"cpu.utilization","v":33,"bid":"0123456789abcdef","sq":1}]' >"$WORK/dup.json"
dups0=$(bridge_status | jq .duplicates)
kill -STOP "${PIDS[broker]}"
$UDP --port "$COAP_PORT" --path t/dup-1/metrics --cf 110 --file "$WORK/dup.json" --mid 4242 --token 0badcafe \
    --burst 2 --again --wait 10 --linger 0.5 >"$WORK/dup.out" &
PIDS[dup]=$!
both_seen() { bridge_status -B 2 | jq -e --argjson d "$dups0" '.pending == 1 and .duplicates == $d + 1' >/dev/null 2>&1; }
check "the bridge holds the first copy for its PUBACK and counts the second as a duplicate" wait_until 5 both_seen
check "no answer to either copy while the broker holds the PUBACK" bash -c "! grep -q '\"code\"' '$WORK/dup.out'"
kill -CONT "${PIDS[broker]}"
wait "${PIDS[dup]}"
unset 'PIDS[dup]'
dup=$(jq -sc '.' "$WORK/dup.out")
echo "# $dup"
check "the 2.04 comes on an ACK of the request's message id once the broker has it" jq_true \
    'any(.[]; .after_send == 2 and .type == "ACK" and .mid == 4242 and .code == "2.04" and .token == "0badcafe")' <<<"$dup"
check "exactly one answer for the two copies" jq_true '[.[] | select(.after_send == 2 and .code)] | length == 1' <<<"$dup"
check "the copy sent after the answer gets the same answer again (ACK 2.04, same id)" jq_true \
    'any(.[]; .after_send == 3 and .type == "ACK" and .mid == 4242 and .code == "2.04" and .token == "0badcafe")' <<<"$dup"

# ---- After all of it: a good request still works, nothing rejected was published, counters.
out=$(coap_post "$COAP/t/good-1/metrics" 110 "$(good_pack good-1 7)")
check "a good request after all of it is answered 2.04" test "$(coap_code "$out")" = 2.04
wait_until 5 bash -c "grep -q '^updraft/v1/good-1/metrics ' '$WORK/mq.txt'"
check "the duplicate was published once" test "$(mqtt_count mq updraft/v1/dup-1/metrics)" -eq 1
for t in bad-1/metrics bad-1/inventory bad-1/state big-2/metrics trunc-1/metrics; do
    check "nothing reached updraft/v1/$t" test "$(mqtt_count mq "updraft/v1/$t")" -eq 0
done
check "the good packs were published (dev-b, big-1, trunc-2, trunc-3, good-1, hand-1)" bash -c \
    "for h in dev-b big-1 trunc-2 trunc-3 good-1 hand-1; do grep -q \"^updraft/v1/\$h/metrics \" '$WORK/mq.txt' || exit 1; done"
for h in hand-1 hand-2; do
    check "the hand-made Block1 transfer of $h arrived whole (40 records)" jq_true 'length == 40 and map(.v) == [range(0; 40)]' < <(mqtt_seen mq "updraft/v1/$h/metrics")
done
check "the 4096-byte pack arrived whole" jq_true ".[0].vs | length == $(jq -r '.[0].vs | length' "$WORK/sized-4096.json")" < <(mqtt_seen mq updraft/v1/big-1/metrics)
check "the bridge is alive" kill -0 "${PIDS[bridge]}"
status=$(bridge_status)
echo "# status: $status"
want=$(for k in "${!expected[@]}"; do echo "$k ${expected[$k]}"; done | jq -Rn '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add')
echo "# expected rejections: $(jq -c . <<<"$want")"
for k in $(printf '%s\n' "${!expected[@]}" | sort); do
    check "/status rejected.$k is ${expected[$k]}" jq_true ".rejected.$k == ${expected[$k]}" <<<"$status"
done
check "/status counts the 2 duplicates" jq_true ".duplicates == $dups0 + 2" <<<"$status"
check "/status: nothing pending, broker connected" jq_true '.pending == 0 and .broker == "connected"' <<<"$status"
check "rejections are logged" grep -qiE 'reject|4\.0[0-9]|bad.request' "$WORK/bridge.log"
check "the bridge stops cleanly on SIGTERM (status 0, no leak)" stop bridge TERM
finish
