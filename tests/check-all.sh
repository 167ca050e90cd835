#!/bin/bash
# The test command (README.md): sets up the machine, then builds and runs every test twice,
# once plainly and once under ASan+UBSan, and lints the packaging. The last line is
# "check: N passed, N failed" summed over every Check program (TESTING.md §H).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$MDP_TOP"
SECONDS=0
step() { printf '\n=== [%4ss] %s\n' "$SECONDS" "$*"; }

step "dependencies"
mdp_install_packages "${MDP_PACKAGES[@]}"
step "bootstrap"
mdp_bootstrap

failed=0
build_and_check() {
        local dir=$1
        shift
        mdp_build "$dir" "$@"
        if make -C "$dir" -j"$(nproc)" check >"$dir/check.out" 2>&1; then
                grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$dir/check.out" || true
        else
                grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$dir/check.out" || true
                cat "$dir/test-suite.log" || true
                failed=1
        fi
}

step "build + make check (plain)"
build_and_check build
step "build + make check (ASan+UBSan)"
build_and_check build-san --enable-sanitizers
if [ -x "$MDP_TOP/tests/lint-packaging.sh" ]; then
        step "packaging lint"
        "$MDP_TOP/tests/lint-packaging.sh" build || failed=1
fi

# libFuzzer: every target for FUZZ_CI_SECONDS (tests/fuzz/run.sh); one pass/fail per target.
step "fuzz (libFuzzer, ${FUZZ_CI_SECONDS:=10} s per target)"
rm -f build-fuzz/fuzz.out
if mdp_install_packages "${MDP_FUZZ_PACKAGES[@]}"; then
        mkdir -p build-fuzz
        tests/fuzz/run.sh "$FUZZ_CI_SECONDS" 2>&1 | tee build-fuzz/fuzz.out || failed=1
else
        echo "fuzz: 0 passed, 1 failed" | tee build-fuzz/fuzz.out
        failed=1
fi

step "summary"
mapfile -t logs < <(find build/tests build-san/tests -name '*.log' ! -name 'test-suite.log' 2>/dev/null | sort)
grep -h -E '^[0-9]+%: Checks: ' "${logs[@]}" /dev/null || true
# Programs that failed without printing Check counts (a crash, a setup error) count too.
crashed=$(cat build/check.out build-san/check.out 2>/dev/null | grep -c -E '^(FAIL|ERROR):' || true)
[ "$failed" = 0 ] || echo "check-all: some tests failed (see above)"
awk -v crashed="$crashed" '/^[0-9]+%: Checks: /{gsub(/,/,""); t+=$3; f+=$5+$7}
     /^fuzz: [0-9]+ passed, [0-9]+ failed/{fp+=$2; ff+=$4}
     END{if (f < crashed) f = crashed; printf "check: %d passed, %d failed\n", t-f+fp, f+ff}' \
        "${logs[@]}" build-fuzz/fuzz.out /dev/null
[ "$failed" = 0 ]
