#!/usr/bin/env bash
# CoAP in, MQTT out, through the real updraft-bridge, mosquitto and hub (docs/coap.md):
# coap-client-openssl POSTs the RFC 8428 example packs (../shared/senml-rfc8428) as SenML
# JSON (110) and CBOR (112), their times moved to an hour ago; each answer is 2.04, each pack
# is republished on updraft/v1/<host>/metrics resolving to exactly its *.gen.resolved.json,
# and the hub's query API returns exactly those names, units, times and values; a pack with
# no time gets the bridge's clock. Then the updraft shape (bn <host>/, bid/sq, the hub's ack
# back through GET /t/<host>/ack, also observed), heartbeat (CBOR and JSON), inventory
# (retained), state, the offline state after missed heartbeats (--bridge.offline_after=3s)
# and online again, GET /t/<host>/config with Observe following a retained config, Block1: a
# 6 KB pack posted in 64-byte blocks arrives whole, and GET /status counters match.
source "$(dirname "$0")/lib.sh"

SHIFT=$BUILD/tests/tools/senml_shift
VECTORS=${SENML_VECTORS_DIR:-../shared/senml-rfc8428}
[ -x "$SHIFT" ] || { not_ok "test tool $SHIFT is built (make SANITIZE=1 tests)"; finish; }
[ -f "$VECTORS/ex3.gen.cbor" ] || { not_ok "RFC 8428 vectors found in $VECTORS"; finish; }

start_broker || exit 1
start_hub || exit 1
mqtt_watch mq 'updraft/v1/#' || exit 1
start_bridge --bridge.offline_after=3s || exit 1
status0=$(bridge_status)
check "GET /status answers JSON with the broker connected" jq_true '.broker == "connected" and (.requests | type == "number")' <<<"$status0"

# jq: SenML resolution (RFC 8428 §4.6) of a republished pack, and one normal form for records
# from it, from the *.resolved.json files and from the hub (time in ms, unit "" when none,
# the value whatever its field, labels: the extra string fields).
JQ_LIB='
def labels_of: with_entries(select(.key | IN("bn","bt","bu","bv","bs","bver","n","u","t","v","vs","vb","vd","s","ut","bid","sq") | not));
def value_of: if has("v") then .v elif has("vs") then .vs elif has("vb") then .vb elif has("vd") then .vd else null end;
def resolve: reduce .[] as $r ({bn: "", bt: 0, bu: null, bv: 0, out: []};
    .bn = ($r.bn // .bn) | .bt = ($r.bt // .bt) | .bu = ($r.bu // .bu) | .bv = ($r.bv // .bv)
    | if ($r | has("n") or has("v") or has("vs") or has("vb") or has("vd") or has("s")) then
        .out += [($r | labels_of) + {n: (.bn + ($r.n // "")), t: (.bt + ($r.t // 0))}
                 + (if ($r.u // .bu) != null then {u: ($r.u // .bu)} else {} end)
                 + (if ($r | has("v")) then {v: (.bv + $r.v)} else ($r | with_entries(select(.key | IN("vs","vb","vd")))) end)]
      else . end) | .out;
def norm: {n, u: (.u // ""), t: ((.t * 1000) | round), value: value_of, labels: labels_of};
def stored_labels: to_entries | sort_by(.key) | map("\(.key | gsub("%"; "%25") | gsub(","; "%2C") | gsub("="; "%3D"))=\(.value | gsub("%"; "%25") | gsub(","; "%2C") | gsub("="; "%3D"))") | join(",");
def ts_ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[19:] | rtrimstr("Z") | if . == "" then 0 else ("0" + . | tonumber) * 1000 | round end);
'

# An hour ago, on a minute: where every vector's first time goes.
TARGET=$(( ($(date +%s) - 3600) / 60 * 60 ))
posted=0   # vector packs posted
N_POSTS=0  # other POSTs: every POST of this test is answered 2.04
declare -A EXPECTED=()

# post_vector EX: posts exN as SenML JSON (its own layout, times moved by jq) to rfc-exN-json
# and as SenML CBOR (ex3/ex5: the RFC's own .gen.cbor, the others converted by senml_shift)
# to rfc-exN-cbor; $WORK/exN.expected.json is the resolved file moved by the same offset.
post_vector() {
    local ex=$1 resolved=$VECTORS/$1.gen.resolved.json
    local t0 d
    t0=$(jq '.[0].t | floor' "$resolved")
    d=$((TARGET - t0))
    # The resolved ex7 leaves out its vd record (the spec tooling's resolver drops vd); RFC
    # 8428 §5.1.5 has it: put it back.
    jq -c --argjson d "$d" 'map(.t += $d)' "$resolved" >"$WORK/$ex.expected.json"
    if [ "$ex" = ex7 ]; then
        jq -c --argjson t "$((TARGET))" '. + [{"n":"urn:dev:ow:10e2073a01080063:nfv-reader","t":$t,"vd":"aGkgCg"}]' \
            "$WORK/$ex.expected.json" >"$WORK/$ex.tmp" && mv "$WORK/$ex.tmp" "$WORK/$ex.expected.json"
    fi
    # A pack with no time at all resolves against the receiver's clock: the resolved file was
    # made at t0, so give it that base time, then move it like the others.
    jq -c --argjson d "$d" --argjson t0 "$t0" '
        (if any(.[]; has("bt") or ((.t // 0) >= 268435456)) then . else .[0].bt = $t0 end)
        | map(if has("bt") then .bt += $d else . end | if (.t // 0) >= 268435456 then .t += $d else . end)' \
        "$VECTORS/$ex.gen.json" >"$WORK/$ex.json"
    if [ -f "$VECTORS/$ex.gen.cbor" ]; then
        "$SHIFT" --offset "$d" --out cbor "$VECTORS/$ex.gen.cbor" "$WORK/$ex.cbor"
    else
        "$SHIFT" --offset 0 --out cbor "$WORK/$ex.json" "$WORK/$ex.cbor"
    fi
    local out
    out=$(coap_post "$COAP/t/rfc-$ex-json/metrics" 110 "$WORK/$ex.json")
    check "$ex as SenML JSON (110) is answered 2.04" test "$(coap_code "$out")" = 2.04
    out=$(coap_post "$COAP/t/rfc-$ex-cbor/metrics" 112 "$WORK/$ex.cbor")
    check "$ex as SenML CBOR (112) is answered 2.04" test "$(coap_code "$out")" = 2.04
    EXPECTED[rfc-$ex-json]=$WORK/$ex.expected.json
    EXPECTED[rfc-$ex-cbor]=$WORK/$ex.expected.json
    posted=$((posted + 2))
}

VECTOR_LIST="ex1 ex2 ex3 ex4 ex5 ex6 ex7 ex8 ex9 ex10 ex11 ex12"
for ex in $VECTOR_LIST; do post_vector "$ex"; done
check "a CON POST is answered by one ACK carrying 2.04 (piggybacked: no empty ACK, no separate response)" bash -c \
    "grep -qE '^v:1 t:ACK c:2\.04 ' '$WORK/coap-last.log' && ! grep -qE '^v:1 t:ACK c:0\.00 |^v:1 t:CON c:2\.04 ' '$WORK/coap-last.log'"

# Republished on MQTT: one message per pack, resolving to exactly the resolved file.
mqtt_matches() {
    local host=$1 msg
    msg=$(mqtt_seen mq "updraft/v1/$host/metrics" | head -n 1)
    [ -n "$msg" ] && jq -e --slurpfile exp "${EXPECTED[$host]}" "$JQ_LIB"'
        (resolve | map(norm)) == ($exp[0] | map(norm))' >/dev/null 2>&1 <<<"$msg"
}
wait_until 10 bash -c "[ \$(grep -c '^updraft/v1/rfc-.*/metrics ' '$WORK/mq.txt') -ge $posted ]"
for host in $(printf '%s\n' "${!EXPECTED[@]}" | sort -V); do
    check "$host: republished once on updraft/v1/$host/metrics" test "$(mqtt_count mq "updraft/v1/$host/metrics")" -eq 1
    check "$host: the MQTT pack resolves to exactly the resolved vector" mqtt_matches "$host"
done
check "the MQTT packs are SenML JSON arrays (compact, one line)" bash -c \
    "grep '^updraft/v1/rfc-' '$WORK/mq.txt' | grep '/metrics ' | cut -d' ' -f2- | jq -se 'length >= $posted and all(.[]; type == \"array\")' >/dev/null"

# The hub: exactly the series (metric, unit, labels) of the resolved records, and for each
# series the query API serves, exactly its times and values. (The query selects a series by
# metric and labels, preferring the one without unit: of ex5's four units of one name it
# serves one, the others are checked through metrics/names and MQTT.)
FROM=$((TARGET - 60))
TO=$((TARGET + 600))
hub_series_match() {
    local host=$1 exp=${EXPECTED[$1]}
    api "/api/v1/metrics/names?host_id=$host" 2>/dev/null | jq -e --slurpfile exp "$exp" "$JQ_LIB"'
        (.series | map({metric, unit, labels}) | sort) ==
        ($exp[0] | map({metric: .n, unit: (.u // ""), labels: (labels_of | stored_labels)}) | unique | sort)' >/dev/null
}
hub_points_match() {
    local host=$1 exp=${EXPECTED[$1]} key n labels q rc=0
    while read -r key; do
        n=$(jq -r '.n' <<<"$key")
        labels=$(jq -c '.l' <<<"$key")
        q=$(api "/api/v1/metrics/query?host_id=$host&metric=$(jq -rn --arg s "$n" '$s|@uri')&labels=$(jq -rn --arg s "$labels" '$s|@uri')&from=$FROM&to=$TO") || { rc=1; continue; }
        jq -e --slurpfile exp "$exp" --arg n "$n" --argjson l "$labels" "$JQ_LIB"'
            .unit as $u |
            ([.datapoints[] | {t: (.ts | ts_ms), value}]) ==
            ([$exp[0][] | select(.n == $n and (labels_of == $l) and ((.u // "") == $u)) | norm | {t, value}] | sort_by(.t))
            and (.datapoints | length > 0)' >/dev/null <<<"$q" || { rc=1; echo "# $host $n: $(head -c 600 <<<"$q")"; }
    done < <(jq -c "$JQ_LIB"'map({n, l: labels_of}) | unique[]' "$exp")
    return $rc
}
first_host=$(printf '%s\n' "${!EXPECTED[@]}" | sort -V | head -n 1)
wait_until 10 hub_series_match "$first_host"
for host in $(printf '%s\n' "${!EXPECTED[@]}" | sort -V); do
    check "$host: the hub lists exactly the resolved series (metric, unit, labels)" wait_until 5 hub_series_match "$host"
    check "$host: the hub's query returns exactly the resolved times and values" hub_points_match "$host"
done
check "the hub rejected nothing the bridge republished" jq_true '.rejected_total == 0' < <(api /api/v1/query/stats)

# A pack without any time resolves against the bridge's clock at arrival.
before_ms=$(date +%s%3N)
out=$(coap_post "$COAP/t/rfc-now/metrics" 110 "$VECTORS/ex1.gen.json"); N_POSTS=$((N_POSTS + 1))
after_ms=$(date +%s%3N)
check "ex1 as it is (no time) is answered 2.04" test "$(coap_code "$out")" = 2.04
wait_until 5 bash -c "grep -q '^updraft/v1/rfc-now/metrics ' '$WORK/mq.txt'"
check "its record is stamped with the bridge's clock at arrival" jq_true "$JQ_LIB""resolve | length == 1 and (.[0].t * 1000 | round) >= $before_ms - 1000 and (.[0].t * 1000 | round) <= $after_ms + 1000" \
    < <(mqtt_seen mq updraft/v1/rfc-now/metrics)
check "the bridge put an absolute time on the wire" jq_true '.[0].bt > 1e9' < <(mqtt_seen mq updraft/v1/rfc-now/metrics)

# The updraft shape: names under <host>/, boot id and sequence. bn <host>/ is stripped by the
# hub; bid/sq ride along, so the hub acks the pack, and GET /t/<host>/ack says so.
NOW=$(date +%s)
echo "[{\"bn\":\"dev-1/\",\"bt\":$NOW.25,\"n\":\"cpu.utilization\",\"v\":12.5,\"bid\":\"00112233aabbccdd\",\"sq\":7},{\"n\":\"mem.used_pct\",\"v\":40,\"t\":-1},{\"n\":\"disk.used_pct\",\"v\":41.5,\"mount\":\"/\"}]" >"$WORK/dev1.json"
"$SHIFT" --offset 0 --bn dev-1/ --out cbor "$WORK/dev1.json" "$WORK/dev1.cbor"
out=$(coap_post "$COAP/t/dev-1/metrics" 112 "$WORK/dev1.cbor"); N_POSTS=$((N_POSTS + 1))
check "an updraft pack in CBOR is answered 2.04" test "$(coap_code "$out")" = 2.04
wait_until 5 bash -c "grep -q '^updraft/v1/dev-1/metrics ' '$WORK/mq.txt'"
dev1=$(mqtt_seen mq updraft/v1/dev-1/metrics)
check "republished with bn dev-1/ (every name starts with it)" jq_true '.[0].bn == "dev-1/" and all(.[1:][]; has("bn") | not)' <<<"$dev1"
check "republished with the pack's bid and sq unchanged" jq_true '.[0].bid == "00112233aabbccdd" and .[0].sq == 7' <<<"$dev1"
check "the record label (mount) rides along" jq_true 'any(.[]; .n == "disk.used_pct" and .mount == "/")' <<<"$dev1"
check "the hub stores dev-1's metric without the prefix" wait_until 5 bash -c \
    "curl -fs '$API/api/v1/metrics/query?host_id=dev-1&metric=cpu.utilization' | jq -e '.datapoints == [{\"ts\":\"$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%S).250Z\",\"value\":12.5}]' >/dev/null"
hub_acked() { mqtt_seen mq updraft/v1/dev-1/ack | jq -se 'any(.[]; .boot_id == "00112233aabbccdd" and .ranges == [[7,7]])' >/dev/null; }
check "the hub acks (bid, sq) on MQTT" wait_until 5 hub_acked
ack_says() { coap_get "$COAP/t/dev-1/ack" -B 3 | tail -n +2 | jq -e '.boot_id == "00112233aabbccdd" and .ranges == [[7,7]]' >/dev/null 2>&1; }
check "GET /t/dev-1/ack serves the hub's latest ack" wait_until 5 ack_says
out=$(coap_get "$COAP/t/dev-1/ack")
check "GET /t/dev-1/ack is 2.05" test "$(coap_code "$out")" = 2.05
# Observe the ack resource (as the agent does): the next pack's ack comes as a notification.
coap_observe ackobs "$COAP/t/dev-1/ack" 10
registered() { grep -qE '^v:1 t:ACK c:2\.05 .*Observe:' "$WORK/$1.log" 2>/dev/null; }
check "GET+Observe of /t/dev-1/ack is registered (the 2.05 carries Observe)" wait_until 5 registered ackobs
jq -c '.[0].sq = 8 | .[0].bt += 1' "$WORK/dev1.json" >"$WORK/dev1-8.json"
"$SHIFT" --offset 0 --bn dev-1/ --out cbor "$WORK/dev1-8.json" "$WORK/dev1-8.cbor"
out=$(coap_post "$COAP/t/dev-1/metrics" 112 "$WORK/dev1-8.cbor"); N_POSTS=$((N_POSTS + 1))
check "the next pack (sq 8) is answered 2.04" test "$(coap_code "$out")" = 2.04
notified_8() { jq -e 'select(.boot_id == "00112233aabbccdd" and .ranges == [[8,8]])' "$WORK/ackobs.out" >/dev/null 2>&1; }
check "the observer is notified of the hub's ack of sq 8" wait_until 5 notified_8
stop ackobs KILL
check "the bridge published dev-1 online, retained, via coap" jq_true '.state == "online" and .via == "coap"' < <(mqtt_retained updraft/v1/dev-1/state)
check "the hub sees dev-1 online" wait_until 5 bash -c "[ \"\$(curl -fs '$API/api/v1/hosts' | jq -r '.hosts[] | select(.id == \"dev-1\") | .state')\" = online ]"

# Heartbeat (CBOR and JSON): republished on .../heartbeat, stored by the hub; then, with
# --bridge.offline_after=3s, no heartbeat for 3 s turns the host offline (retained, with the
# reason), and its next POST online again.
echo "[{\"bn\":\"hb-1/\",\"bt\":$(date +%s),\"n\":\"agent.uptime_s\",\"v\":5,\"bid\":\"aaaabbbbccccdddd\"},{\"n\":\"agent.seq\",\"v\":0}]" >"$WORK/hb.json"
"$SHIFT" --offset 0 --bn hb-1/ --out cbor "$WORK/hb.json" "$WORK/hb.cbor"
out=$(coap_post "$COAP/t/hb-1/heartbeat" 112 "$WORK/hb.cbor"); N_POSTS=$((N_POSTS + 1))
check "a heartbeat in CBOR is answered 2.04" test "$(coap_code "$out")" = 2.04
hb_sent=$SECONDS
wait_until 5 bash -c "grep -q '^updraft/v1/hb-1/heartbeat ' '$WORK/mq.txt'"
check "the heartbeat is republished as SenML JSON on updraft/v1/hb-1/heartbeat" jq_true \
    '.[0].bn == "hb-1/" and .[0].bid == "aaaabbbbccccdddd" and (map(.n) == ["agent.uptime_s","agent.seq"])' \
    < <(mqtt_seen mq updraft/v1/hb-1/heartbeat | head -n 1)
check "the hub stores the heartbeat's agent.uptime_s" wait_until 5 bash -c \
    "curl -fs '$API/api/v1/metrics/query?host_id=hb-1&metric=agent.uptime_s' | jq -e '.datapoints[0].value == 5' >/dev/null"
echo "[{\"bn\":\"hb-2/\",\"n\":\"agent.uptime_s\",\"v\":9}]" >"$WORK/hb2.json"
out=$(coap_post "$COAP/t/hb-2/heartbeat" 110 "$WORK/hb2.json"); N_POSTS=$((N_POSTS + 1))
check "a heartbeat in SenML JSON is answered 2.04" test "$(coap_code "$out")" = 2.04

# Inventory: a JSON object, republished retained.
cat >"$WORK/inv.json" <<'JSON'
{"v":1,"host":"inv-1","ts":1796142300123,"agent_version":"0.1.0","boot_id":"0006744996778f72","facts":{"hostname":"inv-1","os":{"id":"debian","version":"12"},"has_gpu":false},"tags":{"role":"sensor"},"containers":[],"processes":[],"listening":[],"connections":[],"truncated":false}
JSON
out=$(coap_post "$COAP/t/inv-1/inventory" 50 "$WORK/inv.json"); N_POSTS=$((N_POSTS + 1))
check "an inventory (JSON object, 50) is answered 2.04" test "$(coap_code "$out")" = 2.04
inv=$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t updraft/v1/inv-1/inventory -C 1 -W 3 -F '%r %p' 2>/dev/null)
check "the inventory is retained on updraft/v1/inv-1/inventory" test "${inv%% *}" = 1
check "the retained inventory is the posted document" jq_true '. == $sent[0]' --slurpfile sent "$WORK/inv.json" <<<"${inv#* }"

# State: the host's own state is republished retained, and the bridge does not put its own
# "online" over a posted "offline".
echo '{"state":"offline","boot_id":"1111222233334444"}' >"$WORK/off.json"
out=$(coap_post "$COAP/t/st-1/state" 50 "$WORK/off.json"); N_POSTS=$((N_POSTS + 1))
check "a state (JSON, 50) is answered 2.04" test "$(coap_code "$out")" = 2.04
check "the retained state is the posted offline" jq_true '.state == "offline" and .boot_id == "1111222233334444"' < <(mqtt_retained updraft/v1/st-1/state)
check "the hub sees st-1 offline" wait_until 5 bash -c "[ \"\$(curl -fs '$API/api/v1/hosts' | jq -r '.hosts[] | select(.id == \"st-1\") | .state')\" = offline ]"
echo '{"state":"online","boot_id":"1111222233334444"}' >"$WORK/on.json"
out=$(coap_post "$COAP/t/st-1/state" 50 "$WORK/on.json"); N_POSTS=$((N_POSTS + 1))
check "a second state is answered 2.04" test "$(coap_code "$out")" = 2.04
check "the hub sees st-1 online" wait_until 5 bash -c "[ \"\$(curl -fs '$API/api/v1/hosts' | jq -r '.hosts[] | select(.id == \"st-1\") | .state')\" = online ]"

# Config: a retained config pushed on MQTT is served by GET /t/<host>/config, and an
# observer registered there is notified of the next push.
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
out=$(coap_get "$COAP/t/cfg-new/config" -s 1)
check "GET+Observe of an unseen host's config is 2.05 with an empty payload" test "$(coap_code "$out")|$(coap_payload "$out")" = "2.05|"
check "... and not registered (no Observe option in the answer)" bash -c "! grep -E '^v:1 t:ACK c:2\.05 .*Observe:' '$WORK/coap-last.log'"
pub -r -t updraft/v1/cfg-1/config -m '{"version":1,"interval":"10s"}'
cfg_is() { coap_get "$COAP/t/cfg-1/config" -B 3 | tail -n +2 | jq -e ".version == $1" >/dev/null 2>&1; }
check "GET /t/cfg-1/config serves the retained config" wait_until 5 cfg_is 1
coap_observe obs "$COAP/t/cfg-1/config" 10
check "the Observe registration is answered with the current config" wait_until 5 bash -c "grep -q '\"version\":1' '$WORK/obs.out' 2>/dev/null"
check "the registration is accepted (the 2.05 carries Observe)" grep -qE '^v:1 t:ACK c:2\.05 .*Observe:' "$WORK/obs.log"
pub -r -t updraft/v1/cfg-1/config -m '{"version":2,"interval":"20s","collectors":["cpu"]}'
check "the observer is notified of the new retained config" wait_until 5 bash -c "grep -q '\"version\":2' '$WORK/obs.out' 2>/dev/null"
check "the notification is the config as pushed" jq_true '.version == 2 and .interval == "20s" and .collectors == ["cpu"]' < <(grep '"version":2' "$WORK/obs.out" | head -n 1)
stop obs KILL

# Block1: a pack of ~5 KB in 64-byte blocks (and one in CBOR in 128-byte blocks) arrives whole.
NOW=$(date +%s)
jq -nc --argjson now "$NOW" '[range(0; 200) | {n: "blk.value", t: (. - 200), v: (. * 1.5)}] | .[0] += {bn: "blk-1/", bt: $now}' >"$WORK/blk.json"
check "the block-wise pack is over 5000 bytes" test "$(stat -c %s "$WORK/blk.json")" -gt 5000
out=$(coap_post "$COAP/t/blk-1/metrics" 110 "$WORK/blk.json" -b 64); N_POSTS=$((N_POSTS + 1))
check "the ~5 KB pack posted with -b 64 is answered 2.04" test "$(coap_code "$out")" = 2.04
blocks=$(grep -E '^v:1 t:CON c:POST .*Block1:[0-9]+/[M_]/64' "$WORK/coap-last.log" | grep -oE 'Block1:[0-9]+' | sort -u | wc -l)
check "it went as at least 79 Block1 blocks of 64 bytes ($blocks)" test "$blocks" -ge 79
check "the bridge answered the blocks with 2.31 Continue" grep -qE '^v:1 t:ACK c:2\.31 ' "$WORK/coap-last.log"
wait_until 5 bash -c "grep -q '^updraft/v1/blk-1/metrics ' '$WORK/mq.txt'"
check "it is republished whole: one message of 200 records" jq_true "$JQ_LIB"'resolve | length == 200 and (map(.v) == [range(0; 200) | . * 1.5])' \
    < <(mqtt_seen mq updraft/v1/blk-1/metrics)
check "the hub stores all 200 points" wait_until 5 bash -c \
    "curl -fs '$API/api/v1/metrics/query?host_id=blk-1&metric=blk.value&range=1h' | jq -e '[.datapoints[].value] == [range(0; 200) | . * 1.5]' >/dev/null"
jq -c --argjson now "$NOW" '.[0].bn = "blk-2/"' "$WORK/blk.json" >"$WORK/blk2.json"
"$SHIFT" --offset 0 --bn blk-2/ --out cbor "$WORK/blk2.json" "$WORK/blk2.cbor"
out=$(coap_post "$COAP/t/blk-2/metrics" 112 "$WORK/blk2.cbor" -b 128); N_POSTS=$((N_POSTS + 1))
check "a $(stat -c %s "$WORK/blk2.cbor")-byte CBOR pack posted with -b 128 is answered 2.04" test "$(coap_code "$out")" = 2.04
check "the CBOR pack is republished whole" wait_until 5 bash -c \
    "grep '^updraft/v1/blk-2/metrics ' '$WORK/mq.txt' | cut -d' ' -f2- | jq -e 'length == 200' >/dev/null"

# Offline: hb-1's heartbeat was the only one; past offline_after the bridge says offline.
hb_offline() { mqtt_retained updraft/v1/hb-1/state | jq -e '.state == "offline"' >/dev/null 2>&1; }
check "no heartbeat for 3 s turns hb-1 offline (retained)" wait_until 10 hb_offline
echo "# offline $((SECONDS - hb_sent))s after the heartbeat"
check "the offline state says why, by coap, with the boot id" jq_true \
    '.state == "offline" and .via == "coap" and .boot_id == "aaaabbbbccccdddd" and (.reason | test("no heartbeat for 3s"))' \
    < <(mqtt_retained updraft/v1/hb-1/state)
hb2_offline() { mqtt_retained updraft/v1/hb-2/state | jq -e '.state == "offline" and .via == "coap" and (has("boot_id") | not)' >/dev/null 2>&1; }
check "hb-2 (one heartbeat in JSON, no boot id) is turned offline too" wait_until 5 hb2_offline
check "a host that never sent a heartbeat is not turned offline (dev-1)" jq_true '.state == "online"' < <(mqtt_retained updraft/v1/dev-1/state)
out=$(coap_post "$COAP/t/hb-1/heartbeat" 112 "$WORK/hb.cbor"); N_POSTS=$((N_POSTS + 1))
check "its next POST is answered 2.04" test "$(coap_code "$out")" = 2.04
check "... and turns it online again" wait_until 5 bash -c \
    "mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -t updraft/v1/hb-1/state -C 1 -W 2 --retained-only 2>/dev/null | jq -e '.state == \"online\" and .via == \"coap\"' >/dev/null"

# /status: the counters moved with what was sent; nothing was rejected.
status1=$(bridge_status)
echo "# status: $status1"
total=$((posted + N_POSTS))
check "GET /status counts the $total POSTs as requests" jq_true ".requests - \$s0.requests == $total" --argjson s0 "$status0" <<<"$status1"
check "GET /status counts the $total 2.04s as published" jq_true ".published - \$s0.published == $total" --argjson s0 "$status0" <<<"$status1"
check "GET /status counts the ack and the two configs relayed" jq_true '.notifications >= 3' <<<"$status1"
check "GET /status counts the offline states published (hb-1, hb-2)" jq_true '.offline_published >= 2' <<<"$status1"
check "GET /status counts the hosts" jq_true '.hosts >= 30' <<<"$status1"
check "GET /status: no rejection, no duplicate, nothing pending" jq_true '([.rejected[]] | add) == 0 and .duplicates == 0 and .pending == 0 and .broker == "connected"' <<<"$status1"
check "GET /status has every rejection reason" jq_true '.rejected | keys == ["bad_request","broker_unavailable","forbidden","incomplete","method","not_found","too_large","unsupported_format"]' <<<"$status1"

check "the bridge is still running" kill -0 "${PIDS[bridge]}"
check "the bridge stops cleanly on SIGTERM (status 0, no leak)" stop bridge TERM
finish
