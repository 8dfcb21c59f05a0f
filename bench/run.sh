#!/usr/bin/env bash
# `make bench`: runs every benchmark binary built from bench/*.c, then the scripted ones
# (bench/e2e.sh, bench/bridge.sh, bench/prometheus.sh, bench/agent.sh); each prints one
# "name value unit" line per figure under a "# name" header. Compare ratios within one run:
# machines are shared. A failing benchmark makes the run exit 1; the others still run.
# Benchmarks that read a data set get the realistic host metrics of
# ../shared/tools/hostmetrics_gen.py (BENCH_HOSTS x BENCH_DAYS, cached in BENCH_DATA_DIR):
# SenML JSON lines for ours, OpenMetrics text for promtool (only when promtool is installed).
set -uo pipefail
BUILD=${1:-build}
BENCH_DIR=$(dirname "$0")
GEN=../shared/tools/hostmetrics_gen.py
DATA_DIR=${BENCH_DATA_DIR:-/tmp/updraft-bench}
HOSTS=${BENCH_HOSTS:-5}
DAYS=${BENCH_DAYS:-1}
SQLITE_MAX_SAMPLES=${BENCH_SQLITE_MAX_SAMPLES:-2000000}
STORE_QUERY_DAYS=${BENCH_STORE_QUERY_DAYS:-7} # the store's query figures need a week
data="$DATA_DIR/hm-${HOSTS}h-${DAYS}d"
senml="$data.senml.jsonl"
om="$data.om"

# generate FLAG FILE: writes one format of the data set; keeps the sample total the generator
# prints on stderr ("samples: N") in $data.samples.
generate() {
    [ -s "$2" ] && return 0
    [ -f "$GEN" ] && command -v python3 >/dev/null || return 1
    mkdir -p "$DATA_DIR"
    echo "# generating $2 ($HOSTS hosts x $DAYS days)"
    python3 "$GEN" --hosts "$HOSTS" --days "$DAYS" "$1" "$2.tmp" 2>"$2.log" && mv "$2.tmp" "$2" &&
        awk '$1 == "samples:" { print $2 }' "$2.log" >"$data.samples"
}
generate --senml "$senml"
command -v promtool >/dev/null && generate --openmetrics "$om"
week="$DATA_DIR/hm-${HOSTS}h-${STORE_QUERY_DAYS}d.senml.jsonl"
DAYS=$STORE_QUERY_DAYS data="$DATA_DIR/hm-${HOSTS}h-${STORE_QUERY_DAYS}d" generate --senml "$week"

rc=0
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    name=$(basename "$b")
    case $name in mqtt_flood | coap_flood) continue ;; esac # tools of e2e.sh and bridge.sh
    echo "# $name"
    case $name in
    chunk_codec)
        if [ -s "$senml" ]; then "$b" "$senml" || rc=1; else "$b" || rc=1; fi
        ;;
    store)
        # Ingest and bytes on the peers' data set, queries and memory on a week of it.
        if [ -s "$senml" ]; then "$b" "$senml" ingest || rc=1; fi
        if [ -s "$week" ]; then "$b" "$week" queries || rc=1; fi
        ;;
    sqlite_rows)
        if [ -s "$senml" ]; then
            "$b" "$senml" "$SQLITE_MAX_SAMPLES" "$DATA_DIR" || rc=1
        else
            echo "# sqlite_rows: skipped (no data set: $GEN or python3 missing)"
        fi
        ;;
    spool)
        # The agent's spool on the disk of $TMPDIR (fsync'd appends are the disk's figure).
        "$b" "${BENCH_SPOOL_FSYNC_PACKS:-300}" || rc=1
        ;;
    *) "$b" || rc=1 ;;
    esac
done
echo "# e2e"
bash "$BENCH_DIR/e2e.sh" "$BUILD" || rc=1
echo "# bridge"
bash "$BENCH_DIR/bridge.sh" "$BUILD" || rc=1
echo "# prometheus"
bash "$BENCH_DIR/prometheus.sh" "$om" "$(cat "$data.samples" 2>/dev/null)" || rc=1
echo "# agent"
bash "$BENCH_DIR/agent.sh" "$BUILD" || rc=1 # last: no other benchmark runs in its window
exit $rc
