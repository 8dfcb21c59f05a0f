#!/usr/bin/env bash
# `make bench`: runs every benchmark binary built from bench/*.c; each prints one
# "name value unit" line per figure. Compare ratios within one run: machines are shared.
set -uo pipefail
BUILD=${1:-build}
rc=0
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    echo "# $(basename "$b")"
    "$b" || rc=1
done
exit $rc
