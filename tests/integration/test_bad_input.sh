#!/usr/bin/env bash
# Hostile and broken publishers against the real hub: every bad message is counted under its
# reason and listed in recent rejections; the hub keeps serving and storing good data.
source "$(dirname "$0")/lib.sh"

start_broker || exit 1
start_hub --ingest.max_payload=1MiB || exit 1
wait_until 10 jq_true '.broker == "connected"' < <(api /api/v1/query/stats) || sleep 1

pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -V mqttv5 "$@"; }
now=$(date +%s)
good() { echo "[{\"bn\":\"$1/\",\"bt\":$2,\"n\":\"cpu.utilization\",\"v\":$3},{\"n\":\"mem.used_pct\",\"v\":40}]"; }
rejected() { api /api/v1/query/stats | jq -r ".rejected.$1"; }
# expect_rejection NAME REASON: waits for the counter of REASON to reach its expected value.
declare -A expected=()
expect_rejection() {
    local reason=$2
    expected[$reason]=$((${expected[$reason]:-0} + 1))
    check "$1 is rejected as $reason" wait_until 10 bash -c "[ \"\$(curl -fs '$API/api/v1/query/stats' | jq -r '.rejected.$reason')\" = ${expected[$reason]} ]"
}

pub -t updraft/v1/good-1/metrics -m "$(good good-1 "$now" 12.5)"
check "a good pack is stored" wait_until 10 bash -c "curl -fs '$API/api/v1/metrics/query?host_id=good-1&metric=cpu.utilization' | jq -e '.datapoints[0].value == 12.5' >/dev/null"

pub -t updraft/v1/bad-1/metrics -m '[{"n":"x","v":1'
expect_rejection "malformed JSON" invalid_json
pub -t updraft/v1/bad-1/metrics -m 'hello'
expect_rejection "plain text" invalid_json
pub -t updraft/v1/bad-1/metrics -m '{"n":"cpu.utilization","v":1}'
expect_rejection "a JSON object instead of an array" not_senml
pub -t updraft/v1/bad-1/metrics -m '[1,2,3]'
expect_rejection "an array of numbers" not_senml
pub -t updraft/v1/bad-1/metrics -m '[{"n":"cpu.utilization","v":"12"}]'
expect_rejection "a record with a string v" invalid_record
pub -t updraft/v1/bad-1/metrics -m '[{"n":"cpu.utilization"}]'
expect_rejection "a record without a value" invalid_record
pub -t updraft/v1/bad-1/metrics -m '[{"n":"bad name!","v":1}]'
expect_rejection "a record with an invalid name" invalid_record
head -c 2000000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
pub -t updraft/v1/bad-1/metrics -f "$WORK/big.json"
expect_rejection "a 2 MB payload" oversize
pub -t updraft/v1/bad-1/metrics -m "[{\"bn\":\"good-1/\",\"bt\":$now,\"n\":\"cpu.utilization\",\"v\":99}]"
expect_rejection "a pack writing another host's series" foreign_host
pub -t updraft/v1/bad-1/metrics -m "[{\"bt\":$((now + 86400)),\"n\":\"cpu.utilization\",\"v\":1}]"
expect_rejection "a sample a day in the future" bad_timestamp
pub -t updraft/v1/bad-1/state -m 'sleepy'
expect_rejection "a state that is neither online nor offline" invalid_state
pub -t 'updraft/v1/bad host/metrics' -m "$(good x "$now" 1)"
expect_rejection "a topic with an invalid host id" bad_topic

stats=$(api /api/v1/query/stats)
check "rejected_total adds up" jq_true '.rejected_total == ([.rejected[]] | add)' <<<"$stats"
check "recent rejections say why" jq_true '.recent_rejections | length >= 10 and any(.[]; .reason == "invalid_record" and (.detail | contains("record 0")))' <<<"$stats"
check "the foreign pack did not touch good-1's series" jq_true '[.datapoints[].value] == [12.5]' < <(api "/api/v1/metrics/query?host_id=good-1&metric=cpu.utilization")
check "hub logs a rejection reason" grep -q "rejected message on updraft/v1/bad-1/metrics: invalid_json" "$WORK/hub.log"
n_logged=$(grep -c "invalid_json" "$WORK/hub.log")
check "repeated rejections are logged once per reason per minute ($n_logged)" test "$n_logged" -eq 1

# A resent pack is stored once; a changed value for the same sample is a counted conflict.
pub -t updraft/v1/good-1/metrics -m "$(good good-1 "$now" 12.5)"
pub -t updraft/v1/good-1/metrics -m "$(good good-1 "$now" 13.5)"
check "a resent sample is a duplicate, a changed one a conflict" wait_until 10 bash -c "curl -fs '$API/api/v1/query/stats' | jq -e '.writer.duplicates >= 2 and .writer.conflicts >= 1' >/dev/null"
check "the conflicting value replaced the old one" jq_true '[.datapoints[].value] == [13.5]' < <(api "/api/v1/metrics/query?host_id=good-1&metric=cpu.utilization")

# Good data after all of that.
pub -t updraft/v1/good-2/metrics -m "$(good good-2 "$now" 55)"
check "hub still stores good data after bad input" wait_until 10 bash -c "curl -fs '$API/api/v1/metrics/query?host_id=good-2&metric=cpu.utilization' | jq -e '.datapoints[0].value == 55' >/dev/null"
check "hub process is still running" kill -0 "${PIDS[hub]}"
check "hub stops cleanly" stop hub TERM
finish
