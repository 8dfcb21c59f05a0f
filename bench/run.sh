#!/usr/bin/env bash
# `make bench`: runs every benchmark binary built from bench/*.c; each prints one
# "name value unit" line per figure. Compare ratios within one run: machines are shared.
# Benchmarks that read a data set get the realistic host metrics of
# ../shared/tools/hostmetrics_gen.py (BENCH_HOSTS x BENCH_DAYS, cached in BENCH_DATA_DIR).
set -uo pipefail
BUILD=${1:-build}
GEN=../shared/tools/hostmetrics_gen.py
DATA_DIR=${BENCH_DATA_DIR:-/tmp/updraft-bench}
HOSTS=${BENCH_HOSTS:-5}
DAYS=${BENCH_DAYS:-1}
senml="$DATA_DIR/hm-${HOSTS}h-${DAYS}d.senml.jsonl"
if [ ! -s "$senml" ] && [ -f "$GEN" ] && command -v python3 >/dev/null; then
    mkdir -p "$DATA_DIR"
    echo "# generating $senml ($HOSTS hosts x $DAYS days)"
    python3 "$GEN" --hosts "$HOSTS" --days "$DAYS" --senml "$senml.tmp" 2>/dev/null && mv "$senml.tmp" "$senml"
fi
rc=0
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    echo "# $(basename "$b")"
    case $(basename "$b") in
    chunk_codec) [ -s "$senml" ] && { "$b" "$senml" || rc=1; } || { "$b" || rc=1; } ;;
    *) "$b" || rc=1 ;;
    esac
done
exit $rc
