#!/bin/bash
# Packaging lint (TESTING.md §F, layer 6), run by tests/check-all.sh with the build dir:
#  - the service unit, with ExecStart pointing at the built daemon, passes
#    `systemd-analyze verify` without printing anything (unknown keys only warn);
#  - a private system bus starts with the shipped policy loaded and prints nothing, and
#    the policy is enforced: nobody may not own org.mdevpasid1;
#  - the XML files are well-formed; the activation file names the unit's alias.
# Prints "packaging: N passed, N failed" last.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
tmp=$(mktemp -d /tmp/mdp-lint.XXXXXX)
chmod 755 "$tmp" # other users must reach the bus socket for the policy checks
bus_pid=
cleanup() {
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# 1. systemd-analyze verify
make -C "$build" systemd/mdevpasidd.service >/dev/null 2>&1
unit="$build/systemd/mdevpasidd.service"
if [ ! -f "$unit" ] || [ ! -x "$build/daemon/mdevpasidd" ]; then
        bad "unit or daemon not built in $build"
else
        sed "s#^ExecStart=.*#ExecStart=$build/daemon/mdevpasidd#" "$unit" >"$tmp/mdevpasidd.service"
        out=$(cd "$tmp" && systemd-analyze verify --man=no "$tmp/mdevpasidd.service" 2>&1)
        rc=$?
        if [ $rc -eq 0 ] && [ -z "$out" ]; then
                ok "systemd-analyze verify mdevpasidd.service"
        else
                bad "systemd-analyze verify mdevpasidd.service (rc $rc):"
                echo "$out"
        fi
        # The hardening must never make /sys read-only (mdevs are created there).
        if grep -q '^ProtectKernelTunables=' "$unit"; then
                bad "mdevpasidd.service sets ProtectKernelTunables= (makes /sys read-only)"
        else
                ok "mdevpasidd.service leaves /sys writable"
        fi
fi

# 2. bus policy on a private system bus
policy="$top/conf/org.mdevpasid1.conf"
cat >"$tmp/bus.conf" <<EOC
<busconfig>
  <include>/usr/share/dbus-1/system.conf</include>
  <include>$policy</include>
</busconfig>
EOC
if bus_pid=$(dbus-daemon --config-file="$tmp/bus.conf" --address="unix:path=$tmp/bus" --fork --nopidfile \
        --print-pid=1 2>"$tmp/bus.err"); then
        if grep -v 'fd limit' "$tmp/bus.err" | grep -q .; then
                bad "dbus-daemon printed warnings with the policy loaded:"
                cat "$tmp/bus.err"
        else
                ok "private system bus starts with conf/org.mdevpasid1.conf"
        fi
        # Enforcement: nobody cannot own the name; root can.
        addr="unix:path=$tmp/bus"
        if command -v setpriv >/dev/null; then
                if setpriv --reuid=nobody --regid=nogroup --clear-groups env DBUS_SYSTEM_BUS_ADDRESS="$addr" \
                        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        RequestName su org.mdevpasid1 0 >"$tmp/own.out" 2>&1; then
                        bad "the policy lets nobody own org.mdevpasid1"
                else
                        if grep -q 'AccessDenied\|Access denied\|not allowed to own' "$tmp/own.out"; then
                                ok "nobody cannot own org.mdevpasid1"
                        else
                                bad "owning org.mdevpasid1 as nobody failed for another reason:"
                                cat "$tmp/own.out"
                        fi
                fi
                if env DBUS_SYSTEM_BUS_ADDRESS="$addr" busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
                        org.freedesktop.DBus RequestName su org.mdevpasid1 0 >"$tmp/own.out" 2>&1; then
                        ok "root may own org.mdevpasid1"
                else
                        bad "the policy does not let root own org.mdevpasid1:"
                        cat "$tmp/own.out"
                fi
        fi
        kill "$bus_pid" 2>/dev/null
        bus_pid=
else
        bad "dbus-daemon refused conf/org.mdevpasid1.conf:"
        cat "$tmp/bus.err"
fi

# 3. well-formed XML, activation file
for f in "$top/conf/org.mdevpasid1.xml" "$policy" "$top/conf/org.mdevpasid1.policy"; do
        if xmllint --noout "$f" 2>"$tmp/xml.err"; then
                ok "xmllint $(basename "$f")"
        else
                bad "xmllint $(basename "$f")"
                cat "$tmp/xml.err"
        fi
done
act="$top/systemd/org.mdevpasid1.service"
if grep -qx 'Name=org.mdevpasid1' "$act" && grep -qx 'SystemdService=dbus-org.mdevpasid1.service' "$act" &&
        grep -qx 'Alias=dbus-org.mdevpasid1.service' "$top/systemd/mdevpasidd.service.in"; then
        ok "D-Bus activation file matches the unit's alias"
else
        bad "systemd/org.mdevpasid1.service does not match mdevpasidd.service's Alias="
fi

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
