#!/usr/bin/env bash
# Queries against known data through the real broker and hub: raw windows (range, from/to in
# RFC 3339 and unix seconds), step-aligned aggregates, labels, metric names, host detail,
# and a 400 naming the parameter for every bad one.
source "$(dirname "$0")/lib.sh"

start_broker || exit 1
start_hub || exit 1
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -V mqttv5 "$@"; }

# 30 samples of q.m, 10 s apart, values 0..29, starting on a minute boundary 20 min ago.
T0=$(( ($(date +%s) - 1200) / 60 * 60 ))
recs="{\"bn\":\"q-1/\",\"bt\":$T0,\"n\":\"q.m\",\"t\":0,\"v\":0}"
for i in $(seq 1 29); do recs="$recs,{\"n\":\"q.m\",\"t\":$((i * 10)),\"v\":$i}"; done
pub -t updraft/v1/q-1/metrics -m "[$recs]"
pub -t updraft/v1/q-1/metrics -m "[{\"bn\":\"q-1/\",\"bt\":$T0,\"n\":\"disk.used_pct\",\"v\":41.5,\"mount\":\"/\"},{\"n\":\"disk.used_pct\",\"v\":73.25,\"mount\":\"/var\"},{\"n\":\"cpu.utilization\",\"v\":12.5},{\"n\":\"mem.used_pct\",\"v\":50}]"
q() { api "/api/v1/metrics/query?host_id=q-1&metric=q.m$1"; }
check "the data arrives" wait_until 10 bash -c "curl -fs '$API/api/v1/metrics/query?host_id=q-1&metric=mem.used_pct' | jq -e '.datapoints | length == 1' >/dev/null"

check "range=1h returns all 30 points in order" jq_true '[.datapoints[].value] == [range(0; 30)]' < <(q "&range=1h")
from=$(date -u -d "@$((T0 + 60))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$((T0 + 119))" +%Y-%m-%dT%H:%M:%SZ)
check "from/to in RFC 3339 select [T0+60s, T0+119s]" jq_true '[.datapoints[].value] == [6,7,8,9,10,11]' < <(q "&from=$from&to=$to")
check "from/to in unix seconds select the same" jq_true '[.datapoints[].value] == [6,7,8,9,10,11]' < <(q "&from=$((T0 + 60))&to=$((T0 + 119))")
check "step=1m&agg=count gives 5 minute buckets of 6" jq_true '[.datapoints[].value] == [6,6,6,6,6] and .agg == "count" and .step_s == 60' < <(q "&range=1h&step=1m&agg=count")
check "buckets start on the minute" jq_true "[.datapoints[].ts | fromdateiso8601] == [range($T0; $T0 + 300; 60)]" < <(q "&range=1h&step=1m&agg=count")
for row in "avg:2.5" "min:0" "max:5" "sum:15" "last:5" "p95:5"; do
    agg=${row%%:*} want=${row#*:}
    check "agg=$agg of the first minute is $want" jq_true ".datapoints[0].value == $want" < <(q "&range=1h&step=1m&agg=$agg")
done
check "step without agg averages" jq_true '.agg == "avg" and .datapoints[1].value == 8.5' < <(q "&range=1h&step=1m")
check "labels=k=v selects one series" jq_true '.datapoints[0].value == 41.5 and .labels == "mount=/"' < <(api "/api/v1/metrics/query?host_id=q-1&metric=disk.used_pct&labels=mount=/")
check "labels as a JSON object selects the other" jq_true '.datapoints[0].value == 73.25' < <(api "/api/v1/metrics/query?host_id=q-1&metric=disk.used_pct&labels=%7B%22mount%22%3A%22%2Fvar%22%7D")
check "metric names lists each name once" jq_true '.names == ["cpu.utilization","disk.used_pct","mem.used_pct","q.m"] and (.series | length) == 5' < <(api "/api/v1/metrics/names?host_id=q-1")
detail=$(api "/api/v1/hosts/q-1?range=1h")
check "host detail has the host and its main series" jq_true '.host.id == "q-1" and .metrics["cpu.utilization"][0].value == 12.5 and .metrics["mem.used_pct"][0].value == 50' <<<"$detail"
check "host detail leaves out series it does not have" jq_true '.metrics | has("gpu.utilization") | not' <<<"$detail"

expect_400() {
    local name=$1 path=$2 param=$3
    local status
    status=$(api_status "$path")
    check "$name is 400 naming $param" bash -c "[ '$status' = 400 ] && jq -e '.error.code == \"BAD_REQUEST\" and (.error.message | contains(\"$param\"))' '$WORK/last.json' >/dev/null"
}
expect_400 "a bad from" "/api/v1/metrics/query?host_id=q-1&metric=q.m&from=yesterday" from
expect_400 "from after to" "/api/v1/metrics/query?host_id=q-1&metric=q.m&from=$((T0 + 100))&to=$T0" from
expect_400 "range with from" "/api/v1/metrics/query?host_id=q-1&metric=q.m&from=$T0&range=1h" range
expect_400 "a step under 1s" "/api/v1/metrics/query?host_id=q-1&metric=q.m&step=500ms" step
expect_400 "a step giving too many points" "/api/v1/metrics/query?host_id=q-1&metric=q.m&range=400d&step=1s" step
expect_400 "an unknown agg" "/api/v1/metrics/query?host_id=q-1&metric=q.m&step=1m&agg=median" agg
expect_400 "agg without step" "/api/v1/metrics/query?host_id=q-1&metric=q.m&agg=max" agg
expect_400 "names without host_id" "/api/v1/metrics/names" host_id
expect_400 "host detail with a bad range" "/api/v1/hosts/q-1?range=forever" range
check "an unknown host's detail is 404" test "$(api_status /api/v1/hosts/nobody)" = 404
check "names of an unknown host is 404" test "$(api_status '/api/v1/metrics/names?host_id=nobody')" = 404
check "POST on a host is 405" test "$(api_status /api/v1/hosts/q-1 -X POST)" = 405
check "a path below a host that does not exist is 404" test "$(api_status /api/v1/hosts/q-1/nope)" = 404
check "hub stops cleanly" stop hub TERM
finish
