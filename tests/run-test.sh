#!/bin/sh
# Runs one test program the way every test runs here (TESTING.md §G): with the umockdev
# preload (ASan's runtime first when the build is sanitized), Check forking each test so
# a crash or leak is pinned to it, and valgrind when MDP_VALGRIND=1.
PRELOAD=libumockdev-preload.so.0
[ -n "$ASAN_LIB" ] && PRELOAD="$ASAN_LIB:$PRELOAD"
export LD_PRELOAD="$PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}"
export CK_FORK="${CK_FORK:-yes}"
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-60}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
case "$1" in
*.sh) exec "${SHELL:-/bin/sh}" "$@" ;;
esac
if [ -n "$MDP_VALGRIND" ]; then
        # The simulated host is the tests' kernel, not product code: not traced (it is also
        # the slowest thing to run under valgrind).
        exec valgrind -q --vgdb=no --leak-check=full --show-leak-kinds=definite \
                --errors-for-leak-kinds=definite --error-exitcode=99 \
                --suppressions="$(dirname "$0")/valgrind.supp" \
                --trace-children=yes --trace-children-skip='*/dbus-daemon,*/mdp-kernel-sim,/bin/*,/usr/bin/*' "$@"
fi
exec "$@"
