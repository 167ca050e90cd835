# Sourced by the CLI's shell tests (tests/cli-*.sh): paths, temporary roots, assertions.
# Run through tests/run-test.sh, which exports top_builddir and top_srcdir.
set -eu
: "${top_builddir:?run through make check}" "${top_srcdir:?run through make check}"
CLI_BIN=$top_builddir/cli/mdevpasidctl
FIXTURES=$top_srcdir/tests/fixtures
GOLDEN=$top_srcdir/tests/golden
# run-test.sh preloads umockdev (and ASan's runtime in a sanitizer build) for Check
# programs. These scripts drive real programs (mdevctl, unshare, python3) and our binary,
# which links its own sanitizer runtime: start again without the preload, or the shell
# itself runs under LeakSanitizer.
if [ -n "${LD_PRELOAD:-}" ]; then
        exec env -u LD_PRELOAD /bin/sh "$0" "$@"
fi
export LC_ALL=C.UTF-8
# Reproducible text: no colour, and the shipped vendor profiles from the source tree.
export NO_COLOR=1 MDEVPASID_DATADIR="$top_srcdir/conf"
unset MDEVPASID_ROOT MDEVPASID_LOG_LEVEL

TMP=$(mktemp -d /tmp/mdp-cli.XXXXXX)
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
finish() {
        if [ "$failures" -gt 0 ]; then
                echo "$failures failure(s)" >&2
                exit 1
        fi
        echo "all passed"
        exit 0
}

# cli ARGS...: our binary, under valgrind when MDP_VALGRIND=1 (exit 99 on a memory error).
cli() {
        if [ -n "${MDP_VALGRIND:-}" ]; then
                valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
                        --error-exitcode=99 "$CLI_BIN" "$@"
        else
                "$CLI_BIN" "$@"
        fi
}

# record ARGS...: mdevpasidctl ARGS as a transcript block on stdout: the command, its stdout,
# its stderr (when there is any) and its exit status. Callers filter paths out with sed.
record() {
        rc=0
        cli "$@" >"$TMP/stdout" 2>"$TMP/stderr" || rc=$?
        printf '$ mdevpasidctl %s\n' "$*"
        cat "$TMP/stdout"
        if [ -s "$TMP/stderr" ]; then
                printf -- '--- stderr\n'
                cat "$TMP/stderr"
        fi
        printf -- '--- exit %s\n' "$rc"
}

# golden_compare NAME: $TMP/actual against tests/golden/NAME; MDP_GOLDEN_UPDATE=1 rewrites it.
golden_compare() {
        if [ -n "${MDP_GOLDEN_UPDATE:-}" ]; then
                mkdir -p "$(dirname "$GOLDEN/$1")"
                cp "$TMP/actual" "$GOLDEN/$1"
                return 0
        fi
        if [ ! -f "$GOLDEN/$1" ]; then
                fail "no golden file $1"
        elif ! cmp -s "$TMP/actual" "$GOLDEN/$1"; then
                fail "$1: output differs from the golden file"
                diff -u "$GOLDEN/$1" "$TMP/actual" | head -40 >&2 || true
        fi
}

# expect RC PATTERN ARGS...: exit status RC and stderr matching PATTERN (grep -E; "" = empty).
expect() {
        want=$1 pattern=$2
        shift 2
        rc=0
        cli "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
        [ "$rc" = "$want" ] || fail "mdevpasidctl $*: exit $rc, expected $want; stderr: $(cat "$TMP/err")"
        if [ -z "$pattern" ]; then
                [ ! -s "$TMP/err" ] || fail "mdevpasidctl $*: unexpected stderr: $(cat "$TMP/err")"
        elif ! grep -Eq -- "$pattern" "$TMP/err"; then
                fail "mdevpasidctl $*: stderr does not match /$pattern/: $(cat "$TMP/err")"
        fi
}

# unpack_fixture VARIANT DIR: a real-kernel sysfs capture under DIR/sys.
unpack_fixture() {
        mkdir -p "$2"
        tar -xzf "$FIXTURES/real-kernel/$1/sysfs-fixture.tar.gz" -C "$2"
}
