#!/usr/bin/env bash
# No loss across a network cut, end to end: the real agent, mosquitto and hub. The broker is
# stopped for OUTAGE_S (default 62) seconds; halfway through, the agent is restarted (new boot
# id, same spool). When the broker is back, live data arrives first and the spool's backlog
# behind it; at the end the hub has every sample of the whole period at the configured
# interval, none twice, and its loss ledger shows no gap for either boot.
source "$(dirname "$0")/lib.sh"

HOST=outage-1
OUTAGE_S=${OUTAGE_S:-62}
AGENT_FLAGS=(--agent.interval=1s --agent.heartbeat_interval=1s --agent.collectors=cpu,mem
    --spool.resend_after=5s --spool.backfill_rate=4)
start_broker || exit 1
start_hub || exit 1
start_agent "$HOST" "${AGENT_FLAGS[@]}"
check "the agent comes online" wait_until 20 bash -c "[ \"\$(curl -fs $API/api/v1/hosts | jq -r '.hosts[] | select(.id==\"$HOST\") | .status')\" = online ]"
sleep 3

stop broker
echo "# broker stopped for ${OUTAGE_S}s"
sleep $((OUTAGE_S / 2))
check "the agent stops cleanly during the outage" stop "agent-$HOST"
start_agent "$HOST" "${AGENT_FLAGS[@]}"
sleep $((OUTAGE_S - OUTAGE_S / 2))
start_broker || exit 1
back_at=$(date +%s)

# Live first: within a few seconds of the broker's return the newest sample is fresh while
# the backlog (about OUTAGE_S packs at 4 per second) is still being sent.
fresh_while_backlog() {
    local q newest backlog
    q=$(curl -fs "$API/api/v1/metrics/query?host_id=$HOST&metric=mem.used_pct&range=5m") || return 1
    newest=$(jq -r '.datapoints[-1].ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' <<<"$q")
    backlog=$(heartbeat_value "$HOST" agent.spool_packs)
    [ -n "$backlog" ] && [ "$backlog" -gt 5 ] && [ $(( $(date +%s) - newest )) -le 3 ]
}
check "live data arrives before the backlog is done" wait_until 15 fresh_while_backlog
spool_empty() { local n; n=$(heartbeat_value "$HOST" agent.spool_packs); [ -n "$n" ] && [ "$n" -le 2 ]; }
check "the spool drains once the hub acknowledges" wait_until 120 spool_empty
echo "# drained $(( $(date +%s) - back_at ))s after the broker came back"
stop "agent-$HOST"

# The two boots and their last pack numbers, from the agent's own log.
mapfile -t boots < <(grep -oE 'boot [0-9a-f]{16} ends at pack [0-9]+' "$WORK/agent-$HOST.log")
check "two boots ended cleanly" test "${#boots[@]}" -eq 2
check "the stopped agent left nothing in its spool (it drains on a clean stop)" \
    bash -c "grep 'ends at pack' '$WORK/agent-$HOST.log' | tail -n 1 | grep -q ' 0 packs stay in the spool'"
expected=0
for b in "${boots[@]}"; do expected=$((expected + ${b##* })); done
echo "# ${boots[*]}: $expected packs in all"

# The last packs were sent before the stop; the hub commits them a moment later.
all_there() {
    api "/api/v1/metrics/query?host_id=$HOST&metric=mem.used_pct&range=15m" |
        jq -e ".datapoints | length == $expected" >/dev/null
}
check "the hub has one sample per pack of both boots ($expected)" wait_until 10 all_there
q=$(api "/api/v1/metrics/query?host_id=$HOST&metric=mem.used_pct&range=15m")
check "no timestamp twice" jq_true '[.datapoints[].ts] | length == (unique | length)' <<<"$q"
check "at the configured interval: no hole longer than 2.5 s over the whole period" jq_true \
    '[.datapoints[].ts | sub("Z$"; "") | split(".") | (.[0] + "Z" | fromdateiso8601) + ((.[1] // "0") | tonumber) / 1000]
     | . as $t | all(range(1; length); $t[.] - $t[. - 1] <= 2.5)' <<<"$q"
echo "# longest holes (s): $(jq -c '[.datapoints[].ts | sub("Z$"; "") | split(".") | (.[0] + "Z" | fromdateiso8601) + ((.[1] // "0") | tonumber) / 1000] | [range(1; length) as $i | {d: (.[$i] - .[$i - 1]), at: .[$i]}] | sort_by(-.d) | .[:3] | map({d: (.d * 1000 | round / 1000), at: (.at | floor | todate)})' <<<"$q")"
span=$(jq '[.datapoints[].ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601] | .[-1] - .[0]' <<<"$q")
check "the samples span the outage (${span}s > ${OUTAGE_S}s)" test "$span" -gt "$OUTAGE_S"
g=$(api "/api/v1/hosts/$HOST/gaps")
echo "# gaps: $(jq -c '.totals' <<<"$g")"
check "the loss ledger knows both boots" jq_true '.boots | length == 2' <<<"$g"
check "and shows no gap" jq_true '.totals.open_gaps == 0 and .totals.missing_packs == 0' <<<"$g"
check "the agent dropped nothing" jq_true '.agent_dropped == 0' <<<"$g"
finish
