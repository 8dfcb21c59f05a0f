#!/usr/bin/env bash
# Config push and inventory, with the real agent, mosquitto and hub: a retained config on
# <root>/v1/<host>/config changes the interval, the collectors, top N and the labels live and
# the heartbeat acknowledges its version; invalid pushes are refused with a logged reason
# and change nothing; a restarted agent applies the retained config again. The retained
# inventory describes the host, its labels, its listening sockets and its connections.
source "$(dirname "$0")/lib.sh"

HOST=cfg-1
T=updraft/v1/$HOST
start_broker || exit 1
start_hub || exit 1
start_agent "$HOST" --agent.interval=1s --agent.heartbeat_interval=1s --agent.tags=role=test \
    --agent.collectors=cpu,mem,disk,net,proc,conn
push() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "$T/config" -m "$1"; }
hb() { heartbeat_value "$HOST" "$1"; }
next_pack() { mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$T/metrics" -C 1 -W 10; }
inventory() { mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$T/inventory" -C 1 -W 10; }
version_is() { [ "$(hb agent.config_version)" = "$1" ]; }
has_net() { next_pack | jq -e 'map(.n) | index("net.sockets_active") != null' >/dev/null; }
rejected_at_least() { [ "$(hb agent.config_rejected)" -ge "$1" ]; }

check "the agent comes online" wait_until 20 bash -c "[ \"\$(curl -fs $API/api/v1/hosts | jq -r '.hosts[] | select(.id==\"$HOST\") | .status')\" = online ]"
check "before any push the heartbeat says config version 0" version_is 0
check "the first packs carry net metrics" has_net

inv=$(inventory)
check "a retained inventory is published" jq_true '.host == "'$HOST'" and .v == 1' <<<"$inv"
check "with the host's facts" jq_true '(.facts.kernel | length) > 0 and .facts.cpu.cores >= 1 and .facts.mem_total_mb > 0' <<<"$inv"
check "with the configured tags" jq_true '.tags.role == "test"' <<<"$inv"
check "listing the broker's listening port" jq_true "[.listening[] | select(.port == $MQTT_PORT)] | length >= 1" <<<"$inv"
check "and the agent's own connection to it" jq_true "[.connections[] | select(.rport == $MQTT_PORT)] | length >= 1" <<<"$inv"

push '{"version":2,"interval":"2s","collectors":["cpu","mem"],"top_n":3,"labels":{"rack":"r1"}}'
check "a pushed config is acknowledged in the heartbeat" wait_until 15 version_is 2
check "the agent logs what it applied" grep -q "pushed config version 2 applied: interval 2.0s, collectors cpu,mem, top 3" "$WORK/agent-$HOST.log"
sleep 1
no_net() { ! has_net; }
check "packs no longer carry net metrics" no_net
spacing() {
    curl -fs "$API/api/v1/metrics/query?host_id=$HOST&metric=mem.used_pct&range=1m" |
        jq -e '[.datapoints[-4:][].ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601] | . as $t |
               all(range(1; length); $t[.] - $t[. - 1] >= 2)' >/dev/null
}
sleep 8
check "samples now come every 2 s" spacing
labels_applied() { inventory | jq -e '.tags.rack == "r1" and (.tags | has("role") | not)' >/dev/null; }
check "the pushed labels replace the host's tags in the inventory" wait_until 15 labels_applied

rejected_before=$(hb agent.config_rejected)
push '{"version":3,"interval":"fast"}'
check "an invalid interval is refused with its reason" wait_until 10 grep -q 'pushed config rejected: interval: "fast" is not a duration' "$WORK/agent-$HOST.log"
push '{"version":4,"collectors":["cpu","warp"]}'
check "an unknown collector is refused" wait_until 10 grep -q 'pushed config version 4 rejected: collectors: unknown collector "warp"' "$WORK/agent-$HOST.log"
push '{"version":5,"intervall":"5s"}'
check "an unknown key is refused" wait_until 10 grep -q 'unknown key "intervall"' "$WORK/agent-$HOST.log"
push 'not json'
check "text that is not JSON is refused" wait_until 10 grep -q 'pushed config rejected: not a JSON object' "$WORK/agent-$HOST.log"
check "the refusals are counted in the heartbeat" wait_until 10 rejected_at_least $((rejected_before + 4))
check "the applied version stays 2" version_is 2
check "the agent is still running" kill -0 "${PIDS[agent-$HOST]}"

push '{"version":6,"interval":"2s","collectors":["cpu","mem"],"top_n":3,"labels":{"rack":"r1"}}'
check "a valid push after refusals applies" wait_until 10 version_is 6
stop "agent-$HOST"
start_agent "$HOST" --agent.interval=1s --agent.heartbeat_interval=1s
check "a restarted agent applies the retained config again" wait_until 15 version_is 6
check "with its collectors" wait_until 10 grep -q "pushed config version 6 applied: interval 2.0s, collectors cpu,mem, top 3" "$WORK/agent-$HOST.log"
finish
