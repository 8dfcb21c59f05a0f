#!/usr/bin/env bash
# No loss end to end across hub crashes: a publisher that keeps each pack until the hub's
# ack covers it (and resends after a timeout, as a spooling agent does) sends a known set of
# samples at QoS 1 while the hub is killed with SIGKILL several times and restarted. At the
# end every sample is stored exactly once, in order, and the publisher holds nothing unacked.
source "$(dirname "$0")/lib.sh"

PUBLISHER=$BUILD/tests/tools/acking_publisher
PACKS=300
SAMPLES=10
TOTAL=$((PACKS * SAMPLES))
start_broker || exit 1
start_hub || exit 1

"$PUBLISHER" --port "$MQTT_PORT" --host crash-1 --packs $PACKS --samples $SAMPLES --rate 40 \
    --resend-ms 1500 --timeout-s 120 >"$WORK/publisher.out" 2>"$WORK/publisher.log" &
PIDS[publisher]=$!

stored() { curl -fs "$API/api/v1/query/stats" | jq -r .samples; }
for round in 1 2 3; do
    # Let some packs arrive, then kill the hub in the middle of its work.
    sleep 1.$((RANDOM % 9))
    before=$(stored || echo "?")
    stop hub KILL
    echo "# round $round: hub killed with SIGKILL at $before stored samples"
    start_hub || exit 1
done

check "the publisher ends with every pack acknowledged" wait "${PIDS[publisher]}"
unset "PIDS[publisher]"
sed 's/^/# /' "$WORK/publisher.out"
check "the publisher had to resend (the kills cost acks)" grep -qE '[1-9][0-9]* resent' "$WORK/publisher.out"
q=$(api "/api/v1/metrics/query?host_id=crash-1&metric=crash.value&range=1h")
check "all $TOTAL samples are stored" jq_true ".datapoints | length == $TOTAL" <<<"$q"
check "each sample exactly once, in time order, with its value" jq_true \
    '.datapoints | [.[].value] == [range(0; length)]' <<<"$q"
check "timestamps are one second apart, strictly increasing" jq_true \
    '[.datapoints[].ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601] | . as $t | all(range(1; length); $t[.] - $t[. - 1] == 1)' <<<"$q"
check "the store counts exactly $TOTAL samples" test "$(stored)" = "$TOTAL"
check "a restarted hub replayed its write-ahead table" grep -qE 'replayed [1-9][0-9]* samples' "$WORK/hub.log"
check "the hub stops cleanly after the crashes" stop hub TERM
finish
