#!/bin/bash
# Runs every libFuzzer target (or the ones named) for SECONDS each and fails on any crash.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     (`make fuzz` runs it with FUZZ_SECONDS)
# Builds in $MDP_FUZZ_BUILD (default build-fuzz/ at the top: CC=clang --enable-fuzzing).
# Seeds come from tests/fuzz/corpus/<target>/ (read only); what the fuzzer finds goes to
# <build>/tests/fuzz/found/<target>/, crash inputs to <build>/tests/fuzz/crashes/. Copy a
# crash into the target's corpus folder once it is fixed: `make check` replays it forever.
# Prints one PASS/FAIL line per target and "fuzz: N passed, N failed" last.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-60}}
shift || true
build=${MDP_FUZZ_BUILD:-$top/build-fuzz}
if [ $# -gt 0 ]; then
        targets=("$@")
else
        mapfile -t targets < <(ls "$top/tests/fuzz/corpus")
fi

if [ ! -f "$build/Makefile" ]; then
        [ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null) || exit 1
        mkdir -p "$build"
        if ! (cd "$build" && "$top/configure" -q CC=clang --enable-fuzzing --enable-werror >configure.out 2>&1); then
                cat "$build/configure.out"
                rm -f "$build/Makefile"
                echo "fuzz: 0 passed, ${#targets[@]} failed"
                exit 1
        fi
fi
programs=()
for t in "${targets[@]}"; do programs+=("tests/fuzz/fuzz_$t"); done
if ! make -C "$build" -j"$(nproc)" "${programs[@]}" >"$build/fuzz-build.log" 2>&1; then
        tail -40 "$build/fuzz-build.log"
        echo "fuzz: 0 passed, ${#targets[@]} failed"
        exit 1
fi

mkdir -p "$build/tests/fuzz/crashes"
passed=0 failed=0
for t in "${targets[@]}"; do
        work=$build/tests/fuzz/found/$t
        log=$build/tests/fuzz/$t.log
        mkdir -p "$work"
        # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a runaway allocation.
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
                "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$build/tests/fuzz/crashes/$t-" \
                "$work" "$top/tests/fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        rate=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' "$log" | tail -1)
        cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -1)
        if [ "$rc" = 0 ]; then
                passed=$((passed + 1))
                echo "PASS: fuzz $t (${seconds}s, ${execs:-?} execs, ${rate:-?} exec/s, cov ${cov:-?}, corpus $(ls "$work" | wc -l) new)"
        else
                failed=$((failed + 1))
                echo "FAIL: fuzz $t (exit $rc; log $log)"
                grep -E -A30 '^==[0-9]+==ERROR|runtime error|fuzz property failed|deadly signal|Test unit written' "$log" | head -60
        fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
