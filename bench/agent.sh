#!/usr/bin/env bash
# Agent benchmark (run by bench/run.sh): updraft-agent's steady state next to its peer, collectd.
# A private mosquitto on a free port and the real hub (when built) receiving; the agent at
# interval 5 s with its default collectors; side by side in the same window, collectd-core
# (Debian; `sh scripts/install-deps.sh --bench`) from a generated config: plugins cpu, memory,
# load, interface, df, disk at 5 s. After a warm-up, over the window: VmRSS every second (median
# and max), CPU as the utime+stime delta of /proc/PID/stat over the wall time (% of one core) and
# as the scheduler's exact runtime (which the CPU ratio uses), threads at the end. Prints
# "name value unit" lines; without collectd, a "# skipped" line and the agent's figures only.
# Everything started is stopped by PID.
#   bash bench/agent.sh [BUILD]    (AGENT_BENCH_SECONDS=120 AGENT_BENCH_WARMUP_SECONDS=15)
set -uo pipefail
BUILD=${1:-build}
WINDOW_S=${AGENT_BENCH_SECONDS:-120}
WARMUP_S=${AGENT_BENCH_WARMUP_SECONDS:-15}
AGENT_HOST=bench-agent
# The integration tests' helpers: free_port, wait_until, start_broker, start_hub, start_agent,
# stop, PIDS, cleanup on exit (kills what is left in PIDS by PID, removes $WORK).
UPDRAFT_BUILD=$BUILD # read by lib.sh
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
COLLECTD=$(command -v collectd || echo /usr/sbin/collectd)
unset UPDRAFT_CONFIG # the agent's defaults, not a config file of this machine
CLK_TCK=$(getconf CLK_TCK)

case $WINDOW_S$WARMUP_S in
*[!0-9]*) echo "# agent: AGENT_BENCH_*SECONDS must be whole seconds"; exit 1 ;;
esac
[ "$WINDOW_S" -ge 2 ] || { echo "# agent: AGENT_BENCH_SECONDS must be at least 2"; exit 1; }
for f in "$AGENT_BIN" "$MOSQUITTO"; do
    [ -x "$f" ] || { echo "# agent: $f missing (make all)"; exit 1; }
done

# cpu_ticks PID: utime + stime of the process (all its threads), in 1/CLK_TCK s. The command
# name in field 2 may hold spaces and parentheses, so fields are counted after its last ')'.
cpu_ticks() {
    local stat f
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    read -ra f <<<"${stat##*) }" # f[0] is field 3 (state): utime is field 14, stime 15
    echo $((f[11] + f[12]))
}

# runtime_ns PID: nanoseconds on a CPU of the process' live threads, the first field of each
# /proc/PID/task/TID/schedstat; exact where utime/stime count whole ticks. 0 without schedstat.
runtime_ns() {
    local f ns rest total=0
    for f in "/proc/$1/task/"*/schedstat; do
        read -r ns rest 2>/dev/null <"$f" && total=$((total + ns))
    done
    echo "$total"
}

# status_field PID KEY: a field of /proc/PID/status ("VmRSS:" in KiB, "Threads:").
status_field() {
    local key value rest
    while read -r key value rest; do
        [ "$key" = "$2" ] && { echo "$value"; return 0; }
    done 2>/dev/null <"/proc/$1/status"
    return 1
}

uptime_cs() { local up rest; read -r up rest </proc/uptime; echo $((10#${up/./})); } # monotonic

# The peer's output: the network plugin sending to a UDP port on 127.0.0.1 that nobody reads.
# It packs every value of a cycle into one buffer and sends datagrams, the same job as the
# agent's one MQTT publish per cycle, with no disk I/O; the csv plugin instead opens, appends
# and closes one file per value list every cycle (dozens here), work the agent has no
# counterpart for, and rrdtool is heavier still.
start_collectd() {
    local dir=$WORK/collectd
    mkdir -p "$dir"
    cat >"$dir/collectd.conf" <<CONF
Hostname "bench-collectd"
FQDNLookup false
BaseDir "$dir"
PIDFile "$dir/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 5
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$WORK/collectd.log"
</Plugin>
LoadPlugin cpu
LoadPlugin memory
LoadPlugin load
LoadPlugin interface
LoadPlugin df
LoadPlugin disk
LoadPlugin network
<Plugin network>
  Server "127.0.0.1" "$(free_port)"
</Plugin>
CONF
    "$COLLECTD" -t -C "$dir/collectd.conf" >>"$WORK/collectd.log" 2>&1 ||
        { echo "# agent: collectd rejected its config"; return 1; }
    "$COLLECTD" -f -C "$dir/collectd.conf" >>"$WORK/collectd.log" 2>&1 &
    PIDS[collectd]=$!
    wait_until 10 grep -q 'Initialization complete' "$WORK/collectd.log" ||
        { echo "# agent: collectd did not start"; return 1; }
}

# measure NAME...: over WINDOW_S seconds, VmRSS of each process every second into
# $WORK/rss-NAME, its CPU ticks and runtime between both ends into TICKS[NAME] and
# RUNTIME[NAME]; WALL_CS = the window.
declare -A TICKS=() RUNTIME=()
measure() {
    local name t0 t1 i rss
    declare -A start=() start_ns=()
    t0=$(uptime_cs)
    for name; do
        start[$name]=$(cpu_ticks "${PIDS[$name]}") || { echo "# agent: $name is gone"; return 1; }
        start_ns[$name]=$(runtime_ns "${PIDS[$name]}")
    done
    for ((i = 0; i < WINDOW_S; i++)); do
        sleep 1
        for name; do
            rss=$(status_field "${PIDS[$name]}" VmRSS:) ||
                { echo "# agent: $name exited during the window"; return 1; }
            echo "$rss" >>"$WORK/rss-$name"
        done
    done
    for name; do
        TICKS[$name]=$(($(cpu_ticks "${PIDS[$name]}") - start[$name])) || return 1
        RUNTIME[$name]=$(($(runtime_ns "${PIDS[$name]}") - start_ns[$name]))
    done
    t1=$(uptime_cs)
    WALL_CS=$((t1 - t0))
}

# report NAME PREFIX: PREFIX_rss_kib (median), _rss_max_kib, _cpu_pct, _cpu_runtime_pct,
# _threads; sets RSS[NAME].
declare -A RSS=()
report() {
    RSS[$1]=$(sort -n "$WORK/rss-$1" | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }')
    echo "$2_rss_kib ${RSS[$1]} KiB"
    echo "$2_rss_max_kib $(sort -n "$WORK/rss-$1" | tail -n 1) KiB"
    awk -v t="${TICKS[$1]}" -v hz="$CLK_TCK" -v cs="$WALL_CS" -v p="$2" \
        'BEGIN { printf "%s_cpu_pct %.3f %%\n", p, 100 * (t / hz) / (cs / 100) }'
    [ "${RUNTIME[$1]}" -gt 0 ] && awk -v ns="${RUNTIME[$1]}" -v cs="$WALL_CS" -v p="$2" \
        'BEGIN { printf "%s_cpu_runtime_pct %.4f %%\n", p, 100 * (ns / 1e9) / (cs / 100) }'
    echo "$2_threads $(status_field "${PIDS[$1]}" Threads:) threads"
    # utime/stime are counted in ticks: at ~0.1 % a window holds only a few of them
    echo "# $2: ${TICKS[$1]} CPU ticks of 1/$CLK_TCK s in $((WALL_CS / 100)) s," \
        "$(wc -l <"$WORK/rss-$1") RSS samples"
}

run() {
    start_broker || return 1
    local with_hub=false
    if [ -x "$HUB_BIN" ]; then
        if start_hub >/dev/null 2>&1; then
            with_hub=true
        else
            echo "# agent: hub did not start; broker only"
        fi
    fi
    start_agent "$AGENT_HOST" --agent.interval=5s
    wait_until 20 grep -q "as updraft-agent-$AGENT_HOST " "$WORK/mosquitto.log" ||
        { echo "# agent: did not connect to the broker"; return 1; }
    # The same jobs as collectd's plugins (cpu, memory, load, interface, df, disk): no
    # processes, containers, connections or inventory, which collectd does not do here.
    start_agent "$AGENT_HOST-basic" --agent.interval=5s --agent.collectors=cpu,mem,disk,net,gpu \
        --agent.inventory_interval=1h
    wait_until 20 grep -q "as updraft-agent-$AGENT_HOST-basic " "$WORK/mosquitto.log" ||
        { echo "# agent: the basic agent did not connect to the broker"; return 1; }
    local measured=("agent-$AGENT_HOST" "agent-$AGENT_HOST-basic")
    if [ ! -x "$COLLECTD" ]; then
        echo "# skipped collectd: not installed"
    else
        start_collectd || return 1
        measured+=(collectd)
    fi
    sleep "$WARMUP_S"
    measure "${measured[@]}" || return 1
    if $with_hub; then
        local added
        added=$(stat_field '.writer.added' 2>/dev/null)
        [ "${added:-0}" -gt 0 ] 2>/dev/null ||
            { echo "# agent: the hub received no samples"; return 1; }
        echo "# agent: the hub committed $added samples"
    fi
    report "agent-$AGENT_HOST" agent
    report "agent-$AGENT_HOST-basic" agent_basic
    [ -n "${PIDS[collectd]:-}" ] || return 0
    report collectd collectd
    awk -v a="${RSS[agent-$AGENT_HOST]}" -v c="${RSS[collectd]}" \
        'BEGIN { printf "agent_vs_collectd_rss_ratio %.3f ratio\n", a / c }'
    # From the exact runtimes: in a minute or two each process gets only a few ticks.
    local a=${RUNTIME[agent-$AGENT_HOST]} c=${RUNTIME[collectd]}
    if [ "$a" -le 0 ] || [ "$c" -le 0 ]; then
        echo "# agent: a runtime of 0 (no schedstat, or a short window); the CPU ratio counts ticks"
        a=${TICKS[agent-$AGENT_HOST]} c=${TICKS[collectd]}
    fi
    if [ "$c" -gt 0 ]; then
        awk -v a="$a" -v c="$c" 'BEGIN { printf "agent_vs_collectd_cpu_ratio %.3f ratio\n", a / c }'
        awk -v a="${RSS[agent-$AGENT_HOST-basic]}" -v c="${RSS[collectd]}" \
            'BEGIN { printf "agent_basic_vs_collectd_rss_ratio %.3f ratio\n", a / c }'
        local b=${RUNTIME[agent-$AGENT_HOST-basic]}
        [ "$b" -gt 0 ] && [ "${RUNTIME[collectd]}" -gt 0 ] || b=${TICKS[agent-$AGENT_HOST-basic]}
        awk -v a="$b" -v c="$c" 'BEGIN { printf "agent_basic_vs_collectd_cpu_ratio %.3f ratio\n", a / c }'
    else
        echo "# agent: collectd used no measurable CPU in the window; no CPU ratio"
    fi
}

rc=0
run || rc=1
stop collectd
stop "agent-$AGENT_HOST" || { echo "# agent: updraft-agent did not stop cleanly"; rc=1; }
stop "agent-$AGENT_HOST-basic" || { echo "# agent: the basic updraft-agent did not stop cleanly"; rc=1; }
stop hub
stop broker
[ "$rc" = 0 ] || for f in "$WORK"/*.log; do echo "# --- $f"; tail -n 5 "$f" | sed 's/^/# /'; done
exit $rc
