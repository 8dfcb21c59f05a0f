#!/usr/bin/env bash
# The loss ledger through the real broker and hub: packs with a deliberate hole show the gap
# (with when it was noticed), a late pack fills it (counted), the heartbeat's agent.dropped
# is kept, a restarted hub remembers every committed sequence (no false gap below the last
# one, a real one above it), a gap open beyond [ledger] settle is lost, and the API's errors
# are JSON.
source "$(dirname "$0")/lib.sh"

HOST=ledger-$$
BOOT=0123456789abcdef
NOW=$(date +%s)
start_broker || exit 1
start_hub || exit 1
wait_until 10 bash -c "curl -fs '$API/ready' >/dev/null"
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -V mqttv5 "$@"; }
# pack SEQ: one metrics pack of boot $BOOT with sequence SEQ (its own sample time).
pack() { pub -t "updraft/v1/$HOST/metrics" -m "[{\"bn\":\"$HOST/\",\"bt\":$((NOW - 100 + $1)),\"bid\":\"$BOOT\",\"sq\":$1,\"n\":\"l.v\",\"v\":$1}]"; }
heartbeat() { pub -t "updraft/v1/$HOST/heartbeat" -m "[{\"bn\":\"$HOST/\",\"bt\":$(date +%s),\"bid\":\"$BOOT\",\"n\":\"agent.uptime_s\",\"v\":5},{\"n\":\"agent.seq\",\"v\":6},{\"n\":\"agent.dropped\",\"v\":$1}]"; }
gaps() { api "/api/v1/hosts/$HOST/gaps"; }
gaps_are() { gaps 2>/dev/null | jq -e "$1" >/dev/null 2>&1; }

# The first pack is resent until it shows: the hub's first subscription may still be on its way.
seen_first() { pack 1; gaps_are '.boots[0].last_seq >= 1'; }
check "the first pack reaches the ledger" wait_until 10 seen_first
for s in 2 3 5 6; do pack $s; done
check "the hole shows as the gap [4,4]" wait_until 10 gaps_are \
    '.boots[0].last_seq == 6 and .boots[0].gaps == [.boots[0].gaps[0]] and .boots[0].gaps[0].first == 4 and .boots[0].gaps[0].last == 4'
g=$(gaps)
check "the boot says what was committed" jq_true ".host == \"$HOST\" and (.boots | length) == 1 and .boots[0].boot_id == \"$BOOT\" and .boots[0].first_seq == 1 and .boots[0].committed == 5" <<<"$g"
check "the gap has a count, an RFC 3339 since, an age and is not lost" jq_true '.boots[0].gaps[0] | .count == 1 and (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and .age_s >= 0 and .lost == false' <<<"$g"
check "the host's totals count one open gap of one pack" jq_true '.totals == {"open_gaps":1,"missing_packs":1,"lost_gaps":0,"lost_packs":0,"gaps_filled":0} and .settle_s == 86400' <<<"$g"
check "stats carry the ledger totals" jq_true '.ledger.open_gaps == 1 and .ledger.missing_packs == 1 and .ledger.lost_packs == 0 and .ledger.gaps_filled == 0 and .ledger.agent_dropped == 0' < <(api /api/v1/query/stats)

check "no drop reported yet" jq_true '.agent_dropped == 0 and .agent_dropped_changed_at == null' <<<"$g"
heartbeat 2
check "the heartbeat's agent.dropped is kept with when it changed" wait_until 10 gaps_are \
    '.agent_dropped == 2 and (.agent_dropped_changed_at | type) == "string" and .boots[0].agent_dropped == 2'

pack 4
check "the late pack fills the gap" wait_until 10 gaps_are '.boots[0].gaps == [] and .boots[0].committed == 6'
check "the filled gap is counted" jq_true '.totals.gaps_filled == 1 and .totals.open_gaps == 0 and .totals.missing_packs == 0' < <(gaps)
check "stats count it too" jq_true '.ledger.gaps_filled == 1 and .ledger.open_gaps == 0 and .ledger.agent_dropped == 2' < <(api /api/v1/query/stats)

check "SIGTERM stops the hub" stop hub TERM
start_hub || exit 1
g=$(gaps)
check "after a restart 1..6 are still committed: no gap" jq_true '.boots[0].first_seq == 1 and .boots[0].last_seq == 6 and .boots[0].committed == 6 and .boots[0].gaps == []' <<<"$g"
check "after a restart the counters and drops are kept" jq_true '.totals.gaps_filled == 1 and .agent_dropped == 2' <<<"$g"
pack 8
check "a new pack 8 shows the gap [7,7]" wait_until 10 gaps_are \
    '.boots[0].last_seq == 8 and [.boots[0].gaps[] | [.first, .last]] == [[7,7]]'

# The same gap with a settle time it has already exceeded: lost.
check "SIGTERM stops the hub again" stop hub TERM
start_hub --ledger.settle=1s || exit 1
check "a gap open beyond [ledger] settle is lost" wait_until 10 gaps_are \
    '.boots[0].gaps[0].lost == true and .totals.lost_gaps == 1 and .totals.lost_packs == 1 and .totals.open_gaps == 0 and .settle_s == 1'
check "stats count the lost pack" jq_true '.ledger.lost_packs == 1 and .ledger.open_gaps == 0' < <(api /api/v1/query/stats)

check "an unknown host is 404" test "$(api_status /api/v1/hosts/nobody-$$/gaps)" = 404
check "the 404 is a JSON error naming the host" jq_true ".error.code == \"NOT_FOUND\" and (.error.message | contains(\"nobody-$$\"))" <"$WORK/last.json"
check "another path below the host is 404" test "$(api_status "/api/v1/hosts/$HOST/gapsx")" = 404
check "POST on gaps is 405" test "$(api_status "/api/v1/hosts/$HOST/gaps" -X POST)" = 405
check "the index lists the gaps endpoint" jq_true '.endpoints | index("/api/v1/hosts/{id}/gaps") != null' < <(api /)
check "the hub stops cleanly" stop hub TERM
finish
