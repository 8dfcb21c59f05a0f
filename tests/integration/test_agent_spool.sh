#!/usr/bin/env bash
# The agent's spool against the real hub and mosquitto:
#   hub down:     the spool grows while nobody acknowledges, then drains once the hub is back;
#   broker crash: with the hub stopped the broker queues; kill -9 loses that queue (mosquitto
#                 saves only every autosave_interval), yet every sample still arrives, from the
#                 spool, none twice;
#   spool bound:  a tiny spool and a long outage: the oldest packs are dropped and counted, the
#                 agent keeps running, and the hub's loss ledger shows exactly those packs.
source "$(dirname "$0")/lib.sh"

HOST=spool-1
start_broker || exit 1
start_hub || exit 1
start_agent "$HOST" --agent.interval=500ms --agent.heartbeat_interval=1s \
    --agent.collectors=cpu,mem --spool.resend_after=3s --spool.backfill_rate=50
online() { [ "$(host_field "$1" status)" = online ]; }
check "the agent comes online" wait_until 20 online "$HOST"
spool_packs() { heartbeat_value "$1" agent.spool_packs; }
# Drained: back to what a live stream has in flight (a pack or two awaiting the hub's ack).
spool_empty() { local n; n=$(spool_packs "$1"); [ -n "$n" ] && [ "$n" -le 2 ]; }
check "its spool is empty while the hub acknowledges" wait_until 20 spool_empty "$HOST"

# gaps_ok HOST: the ledger has every pack of every boot, none missing.
gaps_ok() {
    local g
    g=$(api "/api/v1/hosts/$1/gaps") || return 1
    jq -e '.totals.open_gaps == 0 and .totals.missing_packs == 0 and
           all(.boots[]; .committed == .last_seq)' >/dev/null <<<"$g"
}
# points_match HOST: one mem.used_pct sample per committed pack, no timestamp twice.
points_match() {
    local q g
    q=$(api "/api/v1/metrics/query?host_id=$1&metric=mem.used_pct&range=15m") || return 1
    g=$(api "/api/v1/hosts/$1/gaps") || return 1
    jq -e --argjson g "$g" '(.datapoints | length) == ([$g.boots[].committed] | add) and
        ([.datapoints[].ts] | length == (unique | length))' >/dev/null <<<"$q"
}

# --- hub down
stop hub
sleep 6
grown=$(spool_packs "$HOST")
check "with the hub down the spool grows ($grown packs)" test "${grown:-0}" -ge 8
start_hub || exit 1
check "and drains once the hub is back" wait_until 30 spool_empty "$HOST"
check "the hub has every pack (ledger: no gap)" wait_until 10 gaps_ok "$HOST"
check "one sample per pack, none twice" points_match "$HOST"

# --- broker crash while it queues for the stopped hub
stop hub
sleep 5
queued=$(spool_packs "$HOST")
stop broker KILL
echo "# broker killed with SIGKILL holding ~${queued} packs for the hub"
start_broker || exit 1
start_hub || exit 1
check "after the broker crash the spool drains" wait_until 40 spool_empty "$HOST"
check "every sample still arrived (ledger: no gap)" wait_until 10 gaps_ok "$HOST"
check "one sample per pack, none twice, after the crash" points_match "$HOST"
stop "agent-$HOST"
grep -oE 'boot [0-9a-f]{16} ends at pack [0-9]+.*' "$WORK/agent-$HOST.log" | sed 's/^/# /'

# --- a tiny spool and a long outage
SMALL=spool-small
start_agent "$SMALL" --agent.interval=100ms --agent.heartbeat_interval=1s \
    --agent.collectors=cpu,mem --spool.max_size=64KiB --spool.backfill_rate=200
check "the small agent comes online" wait_until 20 online "$SMALL"
check "and its spool empties" wait_until 20 spool_empty "$SMALL"
stop broker
sleep 20
check "a full spool does not stop the agent" kill -0 "${PIDS[agent-$SMALL]}"
check "the agent logs that the spool dropped its oldest packs" grep -q "spool full" "$WORK/agent-$SMALL.log"
start_broker || exit 1
check "after the outage its spool drains" wait_until 40 spool_empty "$SMALL"
dropped=$(heartbeat_value "$SMALL" agent.dropped)
check "the heartbeat reports the drops ($dropped)" test "${dropped:-0}" -gt 0
# A dropped pack may have been sent before it was dropped (its ack still pending when the
# full spool made room): then the hub has it. So missing <= dropped, never more.
ledger_matches() {
    local g
    g=$(api "/api/v1/hosts/$SMALL/gaps") || return 1
    jq -e --argjson d "$dropped" '.totals.missing_packs > 0 and .totals.missing_packs <= $d and
        .agent_dropped == $d' >/dev/null <<<"$g"
}
check "the hub's ledger shows the drops: missing packs, none beyond the dropped ones" wait_until 10 ledger_matches
api "/api/v1/hosts/$SMALL/gaps" | jq -c '.totals, .agent_dropped' | sed 's/^/# /'
finish
