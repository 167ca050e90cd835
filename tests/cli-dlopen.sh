#!/bin/sh
# mdevpasidctl does not link libsystemd and loads it only when it talks to the bus
# (cli/sd-dlopen.c); a read decides without the bus when the daemon cannot answer: no bus
# socket, or no mdevpasidd holding <runtime dir>/mdevpasidd.lock (lib/client.c,
# mdevpasidctl(8) "--source"). Whether libsystemd was loaded is read from the dynamic
# loader's own trace (LD_DEBUG=libs). The daemon is the real one on a private bus over the
# simulated host (tests/sim-daemon.sh: faked are the kernel and the bus policy); "another
# daemon" holding the lock is flock(1) from util-linux; a libsystemd without the sd-bus
# functions is another library copied under that name.
. "$top_srcdir/tests/cli-lib.sh"
. "$top_srcdir/tests/sim-daemon.sh"

command -v dbus-send >/dev/null || {
        echo "SKIP: dbus-send is not installed (package dbus)"
        exit 77
}

# loaded ARGS...: runs our binary (not under valgrind: the trace is the loader's) with
# stdout in $TMP/out, stderr in $TMP/err, exit status in $rc; true when libsystemd.so.0
# was loaded.
loaded() {
        rm -rf "$TMP/ld" && mkdir "$TMP/ld"
        rc=0
        LD_DEBUG=libs LD_DEBUG_OUTPUT="$TMP/ld/trace" "$CLI_BIN" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
        cat "$TMP/ld"/trace.* | grep -q 'calling init: .*libsystemd\.so\.0'
}

# hold_lock: another process holds $LOCK (LOCK_EX) until "kill $HOLDER": flock(1) on an fd,
# then exec, so the holder is that one process (flock FILE CMD would leave CMD behind).
# Another process takes the lock; returns once it holds it (or after 10 s).
hold_lock() {
        sh -c 'exec 9<"$1" && flock -x 9 && exec sleep 600' hold-lock "$LOCK" &
        HOLDER=$!
        i=0
        while flock -n "$LOCK" true 2>/dev/null && [ $i -lt 200 ]; do
                sleep 0.05
                i=$((i + 1))
        done
}
HOLDER=
cleanup() {
        [ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
        mdp_sim_daemon_stop
        rm -rf "$TMP"
}

# 1. Not linked.
ldd "$CLI_BIN" >"$TMP/ldd" || fail "ldd $CLI_BIN failed"
grep -q libsystemd "$TMP/ldd" && fail "mdevpasidctl links libsystemd: $(grep libsystemd "$TMP/ldd")"
# The daemon and the hook still do (they always use it).
ldd "$top_builddir/daemon/mdevpasidd" | grep -q libsystemd || fail "mdevpasidd does not link libsystemd"

# 2. Without the daemon, on a captured host.
export MDEVPASID_ROOT=$TMP/root
unpack_fixture x86-6.12-sm "$MDEVPASID_ROOT"
"$CLI_BIN" --source=sysfs list >"$TMP/sysfs" 2>/dev/null || fail "list --source=sysfs failed"

# 2a. The bus socket does not exist.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/no-bus
loaded list && fail "list with no bus socket loaded libsystemd"
[ $rc = 0 ] || fail "list with no bus socket: exit $rc"
grep -q "note: the D-Bus system bus cannot be reached; reading sysfs directly" "$TMP/err" ||
        fail "list with no bus socket: no note: $(cat "$TMP/err")"
cmp -s "$TMP/out" "$TMP/sysfs" || fail "list with no bus socket differs from list --source=sysfs"
# Under systemd (JOURNAL_STREAM names stderr) lines go to the journal, but not by loading
# libsystemd just to log: while it is not loaded they stay on stderr.
: >"$TMP/err"
export JOURNAL_STREAM="$(stat -c '%d:%i' "$TMP/err")"
rm -rf "$TMP/ld" && mkdir "$TMP/ld"
LD_DEBUG=libs LD_DEBUG_OUTPUT="$TMP/ld/trace" "$CLI_BIN" list >"$TMP/out" 2>>"$TMP/err" ||
        fail "list with JOURNAL_STREAM failed"
cat "$TMP/ld"/trace.* | grep -q 'calling init: .*libsystemd\.so\.0' &&
        fail "list with stderr the journal's stream loaded libsystemd to log"
grep -q "note: the D-Bus system bus cannot be reached" "$TMP/err" ||
        fail "list with JOURNAL_STREAM: the note is not on stderr: $(cat "$TMP/err")"
unset JOURNAL_STREAM
# --source=daemon and changes always go the full way (their errors are the bus's own).
loaded --source=daemon list || fail "list --source=daemon did not load libsystemd"
[ $rc = 1 ] || fail "list --source=daemon with no bus: exit $rc, expected 1"
loaded define -u 4b20d080-1b54-4048-85b3-a6a62d165c01 -p mtty -t mtty-1 ||
        fail "define did not load libsystemd"
[ $rc = 1 ] || fail "define with no bus: exit $rc, expected 1"
# An address sd-bus has to interpret (more keys): the socket is not looked at; no lock
# file, so no daemon runs here.
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TMP/no-bus,guid=0123456789abcdef0123456789abcdef" loaded list &&
        fail "list with a unix:path=...,guid= address and no lock file loaded libsystemd"
grep -q "note: mdevpasidd is not running" "$TMP/err" ||
        fail "list with a unix:path=...,guid= address, no lock file: no note: $(cat "$TMP/err")"

# 2b. A bus socket path that exists (a plain file: sd-bus cannot connect to it) and no lock
# file, then a lock file nobody holds: no daemon runs, whatever the bus would say.
: >"$TMP/not-a-bus"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/not-a-bus
loaded list && fail "list without a lock file loaded libsystemd"
grep -q "note: mdevpasidd is not running; reading sysfs directly" "$TMP/err" ||
        fail "list without a lock file: no note: $(cat "$TMP/err")"
cmp -s "$TMP/out" "$TMP/sysfs" || fail "list without a lock file differs from list --source=sysfs"
LOCK=$MDEVPASID_ROOT/run/mdevpasid/mdevpasidd.lock
mkdir -p "${LOCK%/*}" && : >"$LOCK"
loaded list && fail "list with a lock file nobody holds loaded libsystemd"
grep -q "note: mdevpasidd is not running" "$TMP/err" || fail "list, free lock: no note: $(cat "$TMP/err")"
# The same without MDEVPASID_ROOT and a lock in the host's /run is not tested (the host's).

# 2c. The lock held (by flock(1), not a daemon): the bus is asked, and says there is no bus.
hold_lock
loaded list || fail "list with the lock held did not ask the bus"
[ $rc = 0 ] || fail "list with the lock held, no bus: exit $rc"
grep -q "note: the D-Bus system bus cannot be reached" "$TMP/err" ||
        fail "list with the lock held, no bus: no note: $(cat "$TMP/err")"
# With the lock held, no shortcut for a missing socket behind an address sd-bus interprets.
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TMP/no-bus;unix:path=$TMP/no-bus-2" loaded list ||
        fail "list with two addresses, the lock held, did not ask the bus"
grep -q "note: the D-Bus system bus cannot be reached" "$TMP/err" ||
        fail "list with two addresses, the lock held: no note: $(cat "$TMP/err")"
# A missing socket behind one plain address is a missing bus, whoever holds the lock.
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TMP/no-bus" loaded list &&
        fail "list with no bus socket, the lock held, loaded libsystemd"

# 2d. libsystemd.so.0 without the sd-bus functions (libjson-c under that name): one error
# that names the library and the package, then sysfs for a read (exit 0), exit 1 for a change.
mkdir -p "$TMP/fakelib"
fake=$(ldd "$CLI_BIN" | sed -n 's/.*libjson-c[^ ]* => \([^ ]*\) .*/\1/p')
if [ -n "$fake" ]; then
        cp "$fake" "$TMP/fakelib/libsystemd.so.0"
        rc=0
        LD_LIBRARY_PATH=$TMP/fakelib "$CLI_BIN" list >"$TMP/out" 2>"$TMP/err" || rc=$?
        [ $rc = 0 ] || fail "list with a libsystemd lacking sd-bus: exit $rc, expected 0 (sysfs)"
        grep -q "cannot use libsystemd.so.0: it has no sd_bus_.*(Debian: libsystemd0)" "$TMP/err" ||
                fail "list with a libsystemd lacking sd-bus: no error naming it: $(cat "$TMP/err")"
        cmp -s "$TMP/out" "$TMP/sysfs" || fail "list with a libsystemd lacking sd-bus differs from sysfs"
        rc=0
        LD_LIBRARY_PATH=$TMP/fakelib "$CLI_BIN" define -u 4b20d080-1b54-4048-85b3-a6a62d165c01 -p mtty \
                -t mtty-1 >"$TMP/out" 2>"$TMP/err" || rc=$?
        [ $rc = 1 ] || fail "define with a libsystemd lacking sd-bus: exit $rc, expected 1"
        [ "$(grep -c 'libsystemd0' "$TMP/err")" = 1 ] ||
                fail "define with a libsystemd lacking sd-bus: not one error naming the package: $(cat "$TMP/err")"
else
        fail "cannot find libjson-c in ldd's output (the stand-in library)"
fi
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null || true
HOLDER=

# 3. The real daemon on a private bus.
unset DBUS_SYSTEM_BUS_ADDRESS MDEVPASID_ROOT
mdp_sim_daemon_start "$top_builddir" "$top_srcdir" x86-6.12-sm || exit 1
mdp_sim_cli_env
LOCK=$MDP_SIM_ROOT/run/mdevpasid/mdevpasidd.lock
[ -f "$LOCK" ] || fail "mdevpasidd made no $LOCK"
flock -n "$LOCK" true 2>/dev/null && fail "mdevpasidd does not hold $LOCK"
loaded list || fail "list with the daemon running did not load libsystemd"
[ $rc = 0 ] || fail "list with the daemon: exit $rc"
grep -q "note:" "$TMP/err" && fail "list with the daemon running read sysfs: $(cat "$TMP/err")"
loaded --source=daemon list || fail "list --source=daemon did not load libsystemd"
[ $rc = 0 ] || fail "list --source=daemon with the daemon: exit $rc: $(cat "$TMP/err")"

# The daemon gone: the kernel dropped its lock; reads do not load libsystemd, changes still
# ask the bus (which could start the daemon) and fail saying how to start it.
kill -TERM "$MDP_SIM_DAEMON_PID"
wait "$MDP_SIM_DAEMON_PID" 2>/dev/null || true
MDP_SIM_DAEMON_PID=
loaded list && fail "list after the daemon exited loaded libsystemd"
grep -q "note: mdevpasidd is not running; reading sysfs directly" "$TMP/err" ||
        fail "list after the daemon exited: no note: $(cat "$TMP/err")"
loaded define -u 4b20d080-1b54-4048-85b3-a6a62d165c01 -p mtty -t mtty-1 ||
        fail "define after the daemon exited did not ask the bus"
[ $rc = 1 ] && grep -q 'mdevpasidd is not running.*systemctl start mdevpasidd' "$TMP/err" ||
        fail "define after the daemon exited: exit $rc, $(cat "$TMP/err")"
# A lock held by someone else: the bus is asked, and says nobody owns the name.
hold_lock
loaded list || fail "list with the lock held (no daemon) did not ask the bus"
[ $rc = 0 ] || fail "list with the lock held (no daemon): exit $rc"
grep -q "note: mdevpasidd is not running; reading sysfs directly" "$TMP/err" ||
        fail "list with the lock held (no daemon): no note: $(cat "$TMP/err")"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null || true
HOLDER=

finish
