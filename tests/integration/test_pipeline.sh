#!/usr/bin/env bash
# End to end with real processes: mosquitto, updraft-hub and updraft-agent. The agent's host
# turns online with cpu/mem samples within 3 intervals; packs carry boot id and sequence;
# a killed agent turns offline through its Last Will; the hub stops cleanly, keeps what it
# committed across a restart, and says "not ready" without its broker.
source "$(dirname "$0")/lib.sh"

HOST=it-host-$$
INTERVAL_S=2
start_broker || exit 1
start_hub || exit 1

# Watch the agent's topics as an integration would.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$HOST/#" -v -V mqttv5 >"$WORK/topics.txt" 2>/dev/null &
PIDS[sub]=$!
sleep 0.3

start_agent "$HOST" --agent.interval=${INTERVAL_S}s --agent.heartbeat_interval=2s
started=$SECONDS

host_online() { [ "$(host_field "$HOST" status)" = online ]; }
cpu_points() { api "/api/v1/metrics/query?host_id=$HOST&metric=cpu.utilization&range=15m" | jq '.datapoints | length'; }
has_cpu_points() { [ "$(cpu_points 2>/dev/null || echo 0)" -ge 1 ]; }

check "host is online within 3 intervals" wait_until $((3 * INTERVAL_S)) host_online
check "cpu.utilization has samples within 3 intervals" wait_until $((3 * INTERVAL_S + 1)) has_cpu_points
echo "# online and sampled after $((SECONDS - started))s"

q=$(api "/api/v1/metrics/query?host_id=$HOST&metric=cpu.utilization&range=1h")
check "cpu.utilization values are within 0..100" jq_true '.datapoints | length > 0 and all(.[]; .value >= 0 and .value <= 100)' <<<"$q"
check "datapoints have RFC 3339 timestamps" jq_true '.datapoints[0].ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' <<<"$q"
check "the query says it served raw resolution" jq_true '.resolution == "raw" and .metric == "cpu.utilization"' <<<"$q"
for m in mem.used_pct mem.used_mb mem.available_mb mem.cache_mb mem.swap_pct cpu.load1 cpu.load5 cpu.load15 cpu.core.0; do
    wait_until 5 jq_true '.datapoints | length > 0' < <(api "/api/v1/metrics/query?host_id=$HOST&metric=$m&range=1h" 2>/dev/null || echo '{}')
    check "$m is stored" jq_true '.datapoints | length > 0' < <(api "/api/v1/metrics/query?host_id=$HOST&metric=$m&range=1h")
done
check "mem.used_pct is a percentage" jq_true '.datapoints | all(.[]; .value > 0 and .value <= 100)' < <(api "/api/v1/metrics/query?host_id=$HOST&metric=mem.used_pct&range=1h")
check "hosts list carries the cpu/mem summary" jq_true ".hosts[] | select(.id == \"$HOST\") | (.metrics_summary.cpu_pct >= 0) and (.metrics_summary.mem_pct > 0)" < <(api /api/v1/hosts)

# The wire: packs are SenML with bn, bid and sq; state is retained; heartbeats flow.
wait_until 6 grep -q "/heartbeat " "$WORK/topics.txt"
first_pack=$(grep -m1 "^updraft/v1/$HOST/metrics " "$WORK/topics.txt" | cut -d' ' -f2-)
check "metrics pack is SenML with bn <host>/ and bt" jq_true ".[0].bn == \"$HOST/\" and (.[0].bt > 1e9)" <<<"$first_pack"
check "metrics pack carries boot id (bid) and sequence (sq)" jq_true '(.[0].bid | test("^[0-9a-f]{16}$")) and (.[0].sq >= 1)' <<<"$first_pack"
seqs_consecutive() {
    grep "^updraft/v1/$HOST/metrics " "$WORK/topics.txt" | cut -d' ' -f2- | jq -s '[.[][0].sq]' |
        jq -e '. as $s | length >= 2 and all(range(1; length); $s[.] == $s[. - 1] + 1)' >/dev/null
}
check "sequence numbers go up by one per pack" wait_until $((2 * INTERVAL_S + 1)) seqs_consecutive
# End-to-end ack: every published sequence comes back in an ack with the pack's boot id.
acked_all() {
    local sent acked
    sent=$(grep "^updraft/v1/$HOST/metrics " "$WORK/topics.txt" | cut -d' ' -f2- | jq -s '[.[][0] | {b: .bid, s: .sq}]')
    acked=$(grep "^updraft/v1/$HOST/ack " "$WORK/topics.txt" | cut -d' ' -f2- | jq -s '[.[] | .boot_id as $b | .ranges[] | {b: $b, f: .[0], l: .[1]}]')
    jq -e --argjson acked "$acked" 'length >= 2 and all(.[]; . as $p | any($acked[]; .b == $p.b and .f <= $p.s and $p.s <= .l))' <<<"$sent" >/dev/null
}
check "the hub acks every committed pack (boot id + sequence ranges)" wait_until 5 acked_all
check "heartbeat carries uptime and last sequence" jq_true 'map(.n) | index("agent.uptime_s") != null and index("agent.seq") != null' < <(grep -m1 "/heartbeat " "$WORK/topics.txt" | cut -d' ' -f2-)
state=$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$HOST/state" -C 1 -W 3 2>/dev/null)
check "retained state is online with version and boot id" jq_true '.state == "online" and (.agent_version | length > 0) and (.boot_id | length == 16)' <<<"$state"
check "hub knows the boot id and last sequence" jq_true ".hosts[] | select(.id == \"$HOST\") | (.boot_id | length == 16) and .last_seq >= 1" < <(api /api/v1/hosts)

# The API's own surface.
check "/health answers ok" jq_true '.status == "ok"' < <(api /health)
check "/ready answers ready with store and broker" jq_true '.status == "ready" and .broker == "connected"' < <(api /ready)
check "/api/v1/ping answers pong" jq_true '.message == "pong"' < <(api /api/v1/ping)
check "stats count hosts, series, samples and acks" jq_true '.hosts >= 1 and .series >= 10 and .samples >= 10 and .uptime_s >= 0 and .rejected_total == 0 and .writer.acks_sent >= 1' < <(api /api/v1/query/stats)
check "unknown path is a JSON 404" test "$(api_status /api/v1/nope)" = 404
check "404 body is a JSON error" jq_true '.error.code == "NOT_FOUND" and (.error.message | length > 0)' <"$WORK/last.json"
check "POST on a GET endpoint is 405" test "$(api_status /api/v1/hosts -X POST)" = 405
check "405 body is a JSON error" jq_true '.error.code == "METHOD_NOT_ALLOWED"' <"$WORK/last.json"
check "405 says what is allowed" bash -c "curl -s -D - -o /dev/null -X POST '$API/api/v1/hosts' | grep -qi '^Allow: GET'"
check "query without host_id is 400 naming it" test "$(api_status '/api/v1/metrics/query?metric=cpu.utilization')" = 400
check "400 names the parameter" jq_true '.error.code == "BAD_REQUEST" and (.error.message | contains("host_id"))' <"$WORK/last.json"
check "bad range is 400 naming range" test "$(api_status "/api/v1/metrics/query?host_id=$HOST&metric=cpu.utilization&range=banana")" = 400
check "400 for range names it" jq_true '.error.message | contains("range")' <"$WORK/last.json"
check "unknown host is 404" test "$(api_status '/api/v1/metrics/query?host_id=nobody&metric=cpu.utilization')" = 404
check "unknown metric is 404" test "$(api_status "/api/v1/metrics/query?host_id=$HOST&metric=no.such")" = 404
head -c 2000000 /dev/zero | tr '\0' 'x' >"$WORK/big.txt"
check "a 2 MB request body is 413" test "$(api_status /api/v1/hosts -X POST --data-binary @"$WORK/big.txt")" = 413
check "413 body is a JSON error" jq_true '.error.code == "PAYLOAD_TOO_LARGE"' <"$WORK/last.json"

# Last Will: kill -9 the agent; the broker publishes offline, the hub says so.
stop "agent-$HOST" KILL
host_offline() { [ "$(host_field "$HOST" status)" = offline ]; }
check "killed agent turns offline (Last Will)" wait_until 10 host_offline
check "state is offline (Last Will)" jq_true '.state == "offline"' < <(api /api/v1/hosts | jq ".hosts[] | select(.id == \"$HOST\")")
check "retained state is offline" jq_true '.state == "offline"' < <(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "updraft/v1/$HOST/state" -C 1 -W 3 2>/dev/null)

# A clean agent stop publishes offline itself.
start_agent "$HOST-b" --agent.interval=1s
wait_until 10 bash -c "[ \"\$(curl -fs '$API/api/v1/hosts' | jq -r '.hosts[] | select(.id == \"$HOST-b\") | .status')\" = online ]"
check "SIGTERM stops the agent with status 0" stop "agent-$HOST-b" TERM
check "a cleanly stopped agent is offline" wait_until 5 bash -c "[ \"\$(curl -fs '$API/api/v1/hosts' | jq -r '.hosts[] | select(.id == \"$HOST-b\") | .status')\" = offline ]"

# Graceful hub shutdown keeps everything it accepted; a restarted hub knows its fleet.
before=$(stat_field .ingest.samples)
check "SIGTERM stops the hub with status 0" stop hub TERM
check "hub logged a clean stop" grep -q "stopped cleanly" "$WORK/hub.log"
start_hub || exit 1
check "restarted hub still lists the hosts" jq_true "[.hosts[].id] | index(\"$HOST\") != null" < <(api /api/v1/hosts)
after=$(stat_field .samples)
check "restarted hub holds every sample it had accepted ($before)" test "$after" -ge "$before"

# Without its broker the hub is alive but not ready.
stop broker TERM
not_ready() { [ "$(api_status /ready)" = 503 ]; }
check "/ready is 503 without the broker" wait_until 10 not_ready
check "503 body says the broker is down" jq_true '.error.code == "NOT_READY" and (.error.message | contains("broker disconnected"))' <"$WORK/last.json"
check "/health stays 200 without the broker" test "$(api_status /health)" = 200
check "hub stops cleanly with the broker gone" stop hub TERM
finish
