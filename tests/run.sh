#!/usr/bin/env bash
# The test runner behind `make test`: every unit binary (cmocka, TAP output), a bounded
# run of every fuzz target, then every integration script; each prints "ok N - name" /
# "not ok N - name" lines. Ends with "N passed, N failed" and exits non-zero on any failure.
#   usage: tests/run.sh BUILD_DIR      (FUZZ_SECONDS, default 15, bounds each fuzz target)
set -uo pipefail

BUILD=${1:-build/asan}
export UPDRAFT_BUILD=$BUILD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
LOG_DIR=$(mktemp -d /tmp/updraft-tests.XXXXXX)
passed=0
failed=0
skipped=0
failures=()

# Runs one suite command, echoes its output, counts its ok / not ok lines. A suite that
# exits non-zero without reporting a failure (a crash) counts as one failure.
run_suite() {
    local name=$1
    shift
    local out="$LOG_DIR/$(echo "$name" | tr '/ ' '__').log"
    echo "== $name"
    "$@" >"$out" 2>&1
    local rc=$?
    grep -E '^(not )?ok ' "$out" | sed 's/^/   /'
    local ok bad skip
    # cmocka prints a skipped test as "not ok N # SKIP": a skip, not a failure.
    skip=$(grep -cE '^(not )?ok [0-9]+.*# SKIP' "$out")
    ok=$(grep -E '^ok ' "$out" | grep -cvE '# SKIP')
    bad=$(grep -E '^not ok ' "$out" | grep -cvE '# SKIP')
    LAST_SKIPPED=$skip
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1
        echo "   not ok - $name exited with status $rc"
    fi
    if [ "$bad" -gt 0 ]; then
        failures+=("$name (log: $out)")
        echo "   --- last lines of $out:"
        tail -n 30 "$out" | sed 's/^/   | /'
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    skipped=$((skipped + skip))
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_suite "unit/$(basename "$t")" "$t"
    # Tests that replace malloc to fail every allocation in turn cannot run under ASan and
    # skip themselves there: run that binary again from the plain build, where they run.
    plain=build/tests/$(basename "$t")
    sanitized_skips=$LAST_SKIPPED
    if [ "$sanitized_skips" -gt 0 ] && [ -x "$plain" ]; then
        run_suite "unit-plain/$(basename "$t")" "$plain"
        skipped=$((skipped - sanitized_skips))
    fi
done

for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    run_suite "fuzz/$name" bash -c "'$f' -max_total_time=$FUZZ_SECONDS -max_len=8192 \
        -timeout=10 -rss_limit_mb=2048 '$work' && echo 'ok - $name ran ${FUZZ_SECONDS}s without a finding'"
    rm -rf "$work"
done

for t in tests/integration/test_*.sh; do
    run_suite "integration/$(basename "$t" .sh)" bash "$t"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failed suites:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
