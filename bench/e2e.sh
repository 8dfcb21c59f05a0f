#!/usr/bin/env bash
# End-to-end benchmark (run by bench/run.sh): a private mosquitto on a free port, then
#   (a) raw broker limit: build/bench/mqtt_flood publishes E2E_PACKS packs of 100 samples at
#       QoS 1 to a do-nothing QoS 1 subscriber (rate at the subscriber, first to last message);
#   (b) end to end: the same publisher into the real hub, timed from the first publish until
#       the hub's writer has committed every sample (GET /api/v1/query/stats: writer.added).
# Prints "name value unit" lines. Every wait is bounded; everything started is stopped by PID.
#   bash bench/e2e.sh [BUILD]    (E2E_PACKS=20000 E2E_HOSTS=50 E2E_TIMEOUT_S=300)
set -uo pipefail
BUILD=${1:-build}
PACKS=${E2E_PACKS:-20000}
HOSTS=${E2E_HOSTS:-50}
TIMEOUT_S=${E2E_TIMEOUT_S:-300}
SAMPLES=100 # per pack
FLOOD=$BUILD/bench/mqtt_flood
# The integration tests' helpers: free_port, wait_until, port_busy, PIDS, cleanup on exit
# (kills what is left in PIDS by PID, removes $WORK).
UPDRAFT_BUILD=$BUILD # read by lib.sh
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source=bench/bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"

for f in "$FLOOD" "$HUB_BIN" "$MOSQUITTO"; do
    [ -x "$f" ] || { echo "# e2e: $f missing (make $FLOOD, make all)"; exit 1; }
done

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); } # wall clock, as the publisher's
figure() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

publish() { # publish OUT: runs the flood publisher, its figures into OUT
    timeout $((TIMEOUT_S + 30)) "$FLOOD" publish --port "$MQTT_PORT" --packs "$PACKS" \
        --hosts "$HOSTS" --samples "$SAMPLES" --timeout-s "$TIMEOUT_S" >"$1" 2>>"$WORK/flood.log"
}

raw_broker() {
    timeout $((TIMEOUT_S + 30)) "$FLOOD" subscribe --port "$MQTT_PORT" --count "$PACKS" \
        --timeout-s "$TIMEOUT_S" --ready-file "$WORK/sub.ready" >"$WORK/sub.out" \
        2>>"$WORK/flood.log" &
    PIDS[subscriber]=$!
    wait_until 10 test -e "$WORK/sub.ready" || { echo "# e2e: subscriber not ready"; return 1; }
    publish "$WORK/pub-raw.out" || { echo "# e2e: raw publish failed"; return 1; }
    local rc=0
    wait "${PIDS[subscriber]}" || rc=$?
    unset "PIDS[subscriber]"
    [ "$rc" = 0 ] || { echo "# e2e: subscriber got $(figure subscribe_messages "$WORK/sub.out") of $PACKS"; return 1; }
    RAW=$(awk -v k="$SAMPLES" '$1 == "subscribe_messages_per_s" { printf "%.0f", $2 * k }' "$WORK/sub.out")
    echo "e2e_broker_raw_samples_per_s $RAW samples/s"
    echo "e2e_broker_raw_publish_samples_per_s $(figure publish_samples_per_s "$WORK/pub-raw.out") samples/s"
    echo "e2e_bytes_per_pack $(figure publish_bytes_per_message "$WORK/pub-raw.out") B"
}

hub_committed() {
    curl -fsS -m 5 "$API/api/v1/query/stats" 2>/dev/null |
        jq -r '"\(.writer.added) \(.rejected_total) \(.writer.store_errors)"' 2>/dev/null
}

end_to_end() {
    HTTP_PORT=$(free_port) || return 1
    API=http://127.0.0.1:$HTTP_PORT
    "$HUB_BIN" --mqtt.port="$MQTT_PORT" --http.port="$HTTP_PORT" --store.path="$WORK/hub.db" \
        2>>"$WORK/hub.log" &
    PIDS[hub]=$!
    wait_until 20 curl -fs -o /dev/null "$API/ready" || { echo "# e2e: hub not ready"; return 1; }
    # the hub's SUBACK is in the broker's log (mosquitto flushes every line)
    wait_until 10 grep -q 'updraft-hub 1 updraft/v1/+/metrics' "$WORK/mosquitto.log" ||
        { echo "# e2e: hub did not subscribe"; return 1; }
    publish "$WORK/pub-hub.out" || { echo "# e2e: publish to the hub failed"; return 1; }
    local want=$((PACKS * SAMPLES)) deadline=$((SECONDS + TIMEOUT_S)) added=0 rejected=0 errors=0
    while :; do
        read -r added rejected errors <<<"$(hub_committed)"
        [ "${added:-0}" -ge "$want" ] 2>/dev/null && break
        if [ "${rejected:-0}" != 0 ] || [ "${errors:-0}" != 0 ] || [ "$SECONDS" -ge "$deadline" ]; then
            echo "# e2e: hub committed ${added:-?} of $want samples (rejected ${rejected:-?}, store errors ${errors:-?})"
            return 1
        fi
        sleep 0.1
    done
    local end_ms first_ms
    end_ms=$(now_ms)
    first_ms=$(figure publish_first_wall_ms "$WORK/pub-hub.out")
    HUB=$(awk -v n="$want" -v ms=$((end_ms - first_ms)) 'BEGIN { printf "%.0f", n / (ms / 1000) }')
    echo "e2e_hub_samples_per_s $HUB samples/s"
    echo "e2e_hub_publish_samples_per_s $(figure publish_samples_per_s "$WORK/pub-hub.out") samples/s"
    [ -n "${RAW:-}" ] && awk -v h="$HUB" -v r="$RAW" 'BEGIN { printf "e2e_hub_vs_raw_broker_ratio %.3f ratio\n", h / r }'
    echo "e2e_hub_rss_kib $(awk '$1 == "VmHWM:" { print $2 }' "/proc/${PIDS[hub]}/status") KiB"
    local commits
    commits=$(curl -fsS -m 5 "$API/api/v1/query/stats" | jq -r '.writer.commits')
    echo "e2e_hub_commits $commits commits"
    awk -v n="$want" -v c="$commits" 'BEGIN { if (c > 0) printf "e2e_hub_samples_per_commit %.0f samples\n", n / c }'
    echo "e2e_samples $want samples"
    # One series' last hour over HTTP, 200 times on one kept-alive connection.
    local url="$API/api/v1/metrics/query?host_id=bench-000&metric=cpu.utilization&range=1h"
    local args=() i
    for i in $(seq 200); do args+=(-o /dev/null "$url"); done
    curl -fsS -w '%{time_total}\n' "${args[@]}" 2>/dev/null | sort -n | awk '
        { t[NR] = $1 * 1000 }
        END { if (NR == 0) exit; printf "e2e_http_query_1h_p50 %.3f ms\n", t[int(NR / 2) + 1];
              printf "e2e_http_query_1h_p99 %.3f ms\n", t[int(NR * 0.99)] }'
    echo "e2e_http_query_1h_points $(curl -fsS "$url" | jq '.datapoints | length') points"
    stop_bounded hub 30 || { echo "# e2e: hub did not stop cleanly"; return 1; }
    # closed cleanly, so SQLite has checkpointed and removed the WAL
    local bytes
    bytes=$(cat "$WORK"/hub.db "$WORK"/hub.db-wal 2>/dev/null | wc -c)
    awk -v b="$bytes" -v n="$want" 'BEGIN { printf "e2e_hub_store_bytes_per_sample %.2f B/sample\n", b / n }'
}

rc=0
start_bench_broker e2e || exit 1
raw_broker || rc=1
end_to_end || rc=1
stop_bounded broker 10
[ "$rc" = 0 ] || for f in "$WORK"/*.log; do echo "# --- $f"; tail -n 5 "$f" | sed 's/^/# /'; done
exit $rc
