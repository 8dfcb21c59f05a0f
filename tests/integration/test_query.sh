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

# An hour of q.old (one sample every 10 s, values 0..359) in a 4 h window that ended more
# than the out-of-order hour ago: the janitor merges it into final chunks and rollups.
T1=$(( ($(date +%s) - 12 * 3600) / 14400 * 14400 ))
for p in 0 1 2 3; do
    recs="{\"bn\":\"q-1/\",\"bt\":$T1,\"n\":\"q.old\",\"t\":$((p * 900)),\"v\":$((p * 90))}"
    for i in $(seq 1 89); do recs="$recs,{\"n\":\"q.old\",\"t\":$((p * 900 + i * 10)),\"v\":$((p * 90 + i))}"; done
    pub -t updraft/v1/q-1/metrics -m "[$recs]"
done
old() { api "/api/v1/metrics/query?host_id=q-1&metric=q.old&from=$T1&to=$((T1 + 3599))$1"; }
check "the janitor merges the old window and writes its rollups" wait_until 15 bash -c \
    "curl -fs '$API/api/v1/query/stats' | jq -e '.store.compactions >= 1 and .store.rollup_rows >= 3' >/dev/null"

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
check "metric names lists each name once" jq_true '.names == ["cpu.utilization","disk.used_pct","mem.used_pct","q.m","q.old"] and (.series | length) == 6' < <(api "/api/v1/metrics/names?host_id=q-1")
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
check "the merged hour reads back raw: 360 points, in order" jq_true \
    '.resolution == "raw" and [.datapoints[].value] == [range(0; 360)]' < <(old "")
check "step=5m is served by the 5m tier: 12 buckets of 30" jq_true \
    '.resolution == "5m" and [.datapoints[].value] == [range(12) | 30]' < <(old "&step=5m&agg=count")
check "step=1h&agg=sum is served by the 1h tier, exactly" jq_true \
    '.resolution == "1h" and [.datapoints[].value] == [64620]' < <(old "&step=1h&agg=sum")
check "step=2m&agg=max is served by the 1m tier" jq_true \
    '.resolution == "1m" and (.datapoints | length == 30) and .datapoints[0].value == 11' < <(old "&step=2m&agg=max")
check "step=10m&agg=avg from rollups equals the raw average" jq_true \
    '.resolution == "5m" and .datapoints[0].value == 29.5 and .datapoints[5].value == 329.5' < <(old "&step=10m&agg=avg")
check "p95 is served raw" jq_true '.resolution == "raw" and .datapoints[0].value == 28' < <(old "&step=5m&agg=p95")
check "a step no tier divides (90s) is served raw" jq_true '.resolution == "raw" and (.datapoints | length == 40)' < <(old "&step=90s&agg=count")
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
