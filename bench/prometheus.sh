#!/usr/bin/env bash
# Peer benchmark (run by bench/run.sh): the same host metrics data set loaded into Prometheus'
# TSDB with `promtool tsdb create-blocks-from openmetrics` (Debian's prometheus package,
# `sh scripts/install-deps.sh --bench`). Bytes per sample = every byte of the produced block
# directories (chunks, index, meta.json, tombstones: du -sb) / the samples in their meta.json.
# Prints "name value unit" lines; without promtool or the data set, one "# skipped" line.
#   bash bench/prometheus.sh FILE.om [GENERATED_SAMPLES]
set -uo pipefail
OM=${1:-}
GENERATED=${2:-}
if ! command -v promtool >/dev/null; then
    echo "# prometheus: skipped (promtool not found: sh scripts/install-deps.sh --bench)"
    exit 0
fi
if [ -z "$OM" ] || [ ! -s "$OM" ]; then
    echo "# prometheus: skipped (no OpenMetrics data set${OM:+ at $OM})"
    exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/updraft-prometheus.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

# blocks OUT [promtool flags]: writes the blocks into OUT; prints "bytes samples blocks".
blocks() {
    local out=$1
    shift
    timeout 600 promtool tsdb create-blocks-from openmetrics --quiet "$@" "$OM" "$out" \
        >"$WORK/promtool.log" 2>&1 || { sed 's/^/# /' "$WORK/promtool.log" | tail -5 >&2; return 1; }
    local bytes samples
    bytes=$(du -sb "$out" | cut -f1)
    samples=$(cat "$out"/*/meta.json | jq -s 'map(.stats.numSamples) | add')
    echo "$bytes $samples $(find "$out" -name meta.json | wc -l)"
}

per_sample() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.3f", b / s }'; }

# Prometheus' own layout: 2 h blocks, as its head block writes them.
res=$(blocks "$WORK/2h") || exit 1
read -r bytes samples nblocks <<<"$res"
if ! [ "${samples:-0}" -gt 0 ] 2>/dev/null; then
    echo "# prometheus: no samples in the blocks"
    exit 1
fi
echo "prometheus_bytes_per_sample $(per_sample "$bytes" "$samples") B/sample"
echo "prometheus_samples $samples samples"
echo "prometheus_blocks $nblocks blocks"
if [ -n "$GENERATED" ] && [ "$GENERATED" != "$samples" ]; then
    echo "# prometheus: the blocks hold $samples samples, the generator wrote $GENERATED"
fi
rm -rf "$WORK/2h"
# Larger blocks, as after compaction (promtool picks the largest compatible range <= 24 h).
res=$(blocks "$WORK/24h" --max-block-duration=24h) || exit 1
read -r bytes samples nblocks <<<"$res"
echo "prometheus_bytes_per_sample_max_block_24h $(per_sample "$bytes" "$samples") B/sample"
