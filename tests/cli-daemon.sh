#!/bin/sh
# mdevpasidctl against the real mdevpasidd on a private bus over the simulated host
# (tests/sim-daemon.sh: mdp-kernel-sim on the x86-6.12-sm capture; faked are the kernel and
# the bus policy). Golden transcript of every daemon-backed verb in text and JSON, the
# mdevctl-compatible lifecycle (define, modify, start, list, stop, undefine) with its exit
# codes and error messages; the daemon-backed mdevctl output equals the sysfs path's (which
# tests/cli-mdevctl-compat.sh holds equal to mdevctl's); monitor's events; and what the
# verbs do once the daemon is gone.
# MDP_GOLDEN_UPDATE=1 make check TESTS=tests/cli-daemon.sh rewrites the golden file.
. "$top_srcdir/tests/cli-lib.sh"
. "$top_srcdir/tests/sim-daemon.sh"

command -v dbus-send >/dev/null || {
        echo "SKIP: dbus-send is not installed (package dbus)"
        exit 77
}
mdp_sim_daemon_start "$top_builddir" "$top_srcdir" x86-6.12-sm || exit 1
cleanup() {
        [ -n "${MON:-}" ] && kill "$MON" 2>/dev/null
        mdp_sim_daemon_stop
        rm -rf "$TMP"
}
mdp_sim_cli_env

# stop_monitor: SIGINT, as Ctrl-C; it must exit 0 within 10 s (a bound, not a timing).
stop_monitor() {
        kill -INT "$MON"
        i=0
        while kill -0 "$MON" 2>/dev/null && [ $i -lt 200 ]; do
                sleep 0.05
                i=$((i + 1))
        done
        if kill -0 "$MON" 2>/dev/null; then
                kill -KILL "$MON"
                fail "monitor did not exit on SIGINT"
        fi
        rc=0
        wait "$MON" || rc=$?
        MON=
        [ "$rc" = 0 ] || fail "monitor exited $rc on SIGINT, expected 0"
}

GOLD=$GOLDEN/daemon/x86-6.12-sm.txt
: >"$TMP/transcript"
# t ARGS...: one command into the transcript (stdout, stderr, exit status), paths and
# generated UUIDs replaced.
t() {
        record "$@" | sed -e "s|$MDP_SIM_ROOT|ROOT|g" -e "s|$top_srcdir|SRCDIR|g" -e "s|$top_builddir|BUILDDIR|g" \
                -e "s|Version\": \"[^\"]*\"|Version\": \"VERSION\"|" -e "s|(version [^)]*)|(version VERSION)|" \
                >>"$TMP/transcript"
}

U=0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b01
U2=6f2b1e9a-3c4d-4e5f-8a9b-0c1d2e3f4a5b
LIVE=29a5d629-5236-452f-9c1b-1e3b31a976cc

# Read verbs from the daemon (no "reading sysfs" note on stderr).
for args in "status" "status --json" "parents" "parents --json=short" "types" "types -p mtty --json" \
        "types --dumpjson" "list" "list --json" "list -u $LIVE --json=short" "list --dumpjson" "list -d"; do
        # shellcheck disable=SC2086 # the arguments are meant to split
        t $args
done

# The mdevctl lifecycle, as libvirt and administrators run it.
t define -u $U -p mtty -t mtty-1
t define -u $U -p mtty -t mtty-1
t modify -u $U --addattr foo --value bar
t modify -u $U --addattr first --value 1 --index 0
t list -d -v
t modify -u $U --delattr --index 0
t modify -u $U --delattr
t modify -u $U --auto
t list -d --dumpjson
t list -d --json=short
t start -u $U
t list
t list -u $U --json=short
t start -u $U
t stop -u $U
t stop -u $U
t list
t undefine -u $U
t undefine -u $U
t start -p mtty -t mtty-2 -u $U2
t list -p mtty
t stop -u $U2
t start -p mtty -t nosuch -u $U2
t start -p nosuch -t mtty-2 -u $U2
printf '{"mdev_type": "mdpy-vga", "start": "manual", "attrs": []}' >"$TMP/def.json"
t define -p mdpy --jsonfile "$TMP/def.json" -u $U2
t modify -u $U2 --jsonfile "$TMP/def.json" --live
t undefine -u $U2 -p mdpy
printf '{"mdev_type": 7}' >"$TMP/bad.json"
t define -p mdpy --jsonfile "$TMP/bad.json" -u $U2
# Usage errors (2), before the daemon is asked.
t define
t undefine
t modify -u $U --auto --manual
t modify -u $U --addattr x
t start -t mtty-1
t stop
t define -u $U -p mtty -t mtty-1 --jsonfile "$TMP/def.json"
t pasid frob

# Plans through the daemon's PlanVm, one per vIOMMU mode; VM placement.
for mode in none nopasid pasid svsa; do
        t plan --viommu $mode $LIVE
done
t plan --viommu none $LIVE --json=short
t vms
t attach vm1 $LIVE
t attach vm2 $LIVE
t vms
t vms --json=short
t pasid list
t pasid list vm1 --json=short
t pasid alloc vm1 $LIVE 2
t detach vm1
t detach vm1
t vms
sed -e "s|$TMP|TMP|g" "$TMP/transcript" >"$TMP/transcript.2"
if [ -n "${MDP_GOLDEN_UPDATE:-}" ]; then
        mkdir -p "$GOLDEN/daemon"
        cp "$TMP/transcript.2" "$GOLD"
elif ! cmp -s "$TMP/transcript.2" "$GOLD"; then
        fail "daemon transcript differs from $GOLD"
        diff -u "$GOLD" "$TMP/transcript.2" | head -60 >&2 || true
fi

# A generated UUID is printed on stdout (libvirt reads it there) and is a UUID.
gen=$(cli define -p mdpy -t mdpy-vga) || fail "define without --uuid failed"
echo "$gen" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' ||
        fail "define without --uuid printed \"$gen\", not a UUID"
cli undefine -u "$gen" || fail "undefine of the generated UUID failed"

# Daemon-backed mdevctl output equals the sysfs path's on the same host (the sysfs path is
# held equal to mdevctl's own by cli-mdevctl-compat.sh). One definition and one transient
# device make both lists non-trivial.
cli define -u $U -p mtty -t mtty-2 -a >/dev/null || fail "define for the comparison failed"
cli modify -u $U --addattr a --value b >/dev/null || fail "modify for the comparison failed"
cli start -p mdpy -t mdpy-vga -u $U2 >/dev/null || fail "start -p -t for the comparison failed"
for args in "list" "list -v" "list --dumpjson" "list -d" "list -d -v" "list -d --dumpjson" "types" \
        "types --dumpjson" "types -p mtty" "list -u $U2 --dumpjson" "list -d -u $U --dumpjson" "list -p mdpy"; do
        # shellcheck disable=SC2086
        cli $args >"$TMP/daemon.out" 2>"$TMP/daemon.err" || fail "mdevpasidctl $args (daemon) failed"
        # shellcheck disable=SC2086
        cli --source=sysfs $args >"$TMP/sysfs.out" 2>/dev/null || fail "mdevpasidctl $args (sysfs) failed"
        cmp -s "$TMP/daemon.out" "$TMP/sysfs.out" || {
                fail "mdevpasidctl $args: the daemon's output differs from sysfs's"
                diff -u "$TMP/sysfs.out" "$TMP/daemon.out" | head -20 >&2
        }
        [ ! -s "$TMP/daemon.err" ] || fail "mdevpasidctl $args (daemon): unexpected stderr $(cat "$TMP/daemon.err")"
done
cli stop -u $U2 >/dev/null && cli undefine -u $U >/dev/null || fail "clean-up after the comparison failed"

# monitor: a line per event, in the order the daemon announces them.
"$CLI_BIN" monitor >"$TMP/mon.out" 2>"$TMP/mon.err" &
MON=$!
i=0
until grep -q "^Monitoring org.mdevpasid1 (running)" "$TMP/mon.err" 2>/dev/null || [ $i -ge 200 ]; do
        sleep 0.05
        i=$((i + 1))
done
cli define -u $U -p mtty -t mtty-1 && cli start -u $U && cli stop -u $U && cli undefine -u $U ||
        fail "the lifecycle under monitor failed"
i=0
until grep -q "removed  device $U" "$TMP/mon.out" 2>/dev/null || [ $i -ge 200 ]; do
        sleep 0.05
        i=$((i + 1))
done
stop_monitor
sed -E 's/^[0-9:.]{12} //' "$TMP/mon.out" >"$TMP/mon.lines"
awk -v u=$U '
        BEGIN { n = split("added    device " u " (Parent=mtty Type=mtty-1 State=inactive|changed  device " u " State=starting|changed  device " u " Active=true|changed  device " u " State=active|changed  device " u " State=stopping|changed  device " u " Active=false|removed  device " u, want, "|") ; k = 1 }
        k <= n && index($0, want[k]) == 1 { k++ }
        END { if (k <= n) { print "monitor: missing or out of order: " want[k]; exit 1 } }' "$TMP/mon.lines" >&2 ||
        fail "monitor's events (see above; got: $(cat "$TMP/mon.lines"))"
"$CLI_BIN" monitor --json >"$TMP/mon.json" 2>/dev/null &
MON=$!
i=0
until [ -s "$TMP/mon.json" ] || [ $i -ge 100 ]; do
        cli define -u $U -p mtty -t mtty-1 >/dev/null 2>&1 && cli undefine -u $U >/dev/null 2>&1
        sleep 0.1
        i=$((i + 1))
done
stop_monitor
head -n1 "$TMP/mon.json" | python3 -c 'import json,sys; o=json.loads(sys.stdin.readline()); assert set(o) == {"Time","Event","Object","Path","Details"}, o' ||
        fail "monitor --json: the first line is not a JSON event object: $(head -n1 "$TMP/mon.json")"

# The daemon's plan is the local one (the same engine, facts and files); only how the
# guest mode was given reads differently.
for mode in none nopasid pasid svsa; do
        cli plan --viommu $mode $LIVE 2>&1 | sed 2d >"$TMP/plan.daemon"
        cli --source=sysfs plan --viommu $mode $LIVE 2>&1 | sed 2d >"$TMP/plan.sysfs"
        cmp -s "$TMP/plan.daemon" "$TMP/plan.sysfs" || {
                fail "plan --viommu $mode: the daemon's plan differs from the local one"
                diff -u "$TMP/plan.sysfs" "$TMP/plan.daemon" | head -20 >&2
        }
done

# The daemon gone: mutating verbs fail saying how to start it (1); read verbs read sysfs and
# say so (0); status says it is not running.
kill -TERM "$MDP_SIM_DAEMON_PID"
wait "$MDP_SIM_DAEMON_PID" 2>/dev/null || true
MDP_SIM_DAEMON_PID=
rc=0
cli define -u $U -p mtty -t mtty-1 >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] || fail "define without the daemon: exit $rc, expected 1"
grep -q 'mdevpasidd is not running.*systemctl start mdevpasidd' "$TMP/err" ||
        fail "define without the daemon does not say how to start it: $(cat "$TMP/err")"
for verb in "undefine -u $U" "start -u $U" "stop -u $U" "modify -u $U --auto"; do
        rc=0
        # shellcheck disable=SC2086
        cli $verb >/dev/null 2>"$TMP/err" || rc=$?
        [ $rc = 1 ] && grep -q 'systemctl start mdevpasidd' "$TMP/err" ||
                fail "$verb without the daemon: exit $rc, stderr $(cat "$TMP/err")"
done
rc=0
cli list >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 0 ] || fail "list without the daemon: exit $rc"
grep -q "note: mdevpasidd is not running; reading sysfs directly" "$TMP/err" ||
        fail "list without the daemon does not say it read sysfs: $(cat "$TMP/err")"
grep -q "$LIVE mtty mtty-2 manual" "$TMP/out" || fail "list without the daemon lost the live device"
rc=0
cli list --source=daemon >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] || fail "list --source=daemon without the daemon: exit $rc, expected 1"
cli status >"$TMP/out" 2>"$TMP/err" || fail "status without the daemon failed"
grep -q "^mdevpasidd is not running" "$TMP/out" || fail "status does not say the daemon is not running"
[ ! -s "$TMP/err" ] || fail "status without the daemon wrote to stderr: $(cat "$TMP/err")"

finish
