#!/bin/sh
# plan --domain and attach --domain with mdevpasidd running: mdevpasidctl reads the domain
# over a read-only libvirt connection (libvirt's test driver on the fixture domains of
# tests/fixtures/plan/x86-6.12-sm) and sends its XML to PlanVm/AttachVm as "DomainXml".
# Faked: the kernel (tests/sim-daemon.sh: mdp-kernel-sim on x86-6.12-sm), the bus policy,
# and libvirt (its test driver, test:///abs/node.xml).
. "$top_srcdir/tests/cli-lib.sh"
. "$top_srcdir/tests/sim-daemon.sh"

command -v dbus-send >/dev/null || {
        echo "SKIP: dbus-send is not installed (package dbus)"
        exit 77
}
mdp_sim_daemon_start "$top_builddir" "$top_srcdir" x86-6.12-sm || exit 1
cleanup() {
        mdp_sim_daemon_stop
        rm -rf "$TMP"
}
mdp_sim_cli_env

PLAN_FIXTURES=$FIXTURES/plan
{ echo "<node>"; cat "$PLAN_FIXTURES/x86-6.12-sm"/*.xml; echo "</node>"; } >"$TMP/node.xml"
URI=test://$TMP/node.xml
LIVE=29a5d629-5236-452f-9c1b-1e3b31a976cc

# The daemon's plan of a domain is the local one: the same XML, engine, facts and files.
# Which one answered shows nowhere but in the daemon's log, so that is checked too.
for d in vm-intel vm-intel-pasid vm-virtio vm-none; do
        for j in "" --json; do
                rc=0
                cli plan --domain $d -c "$URI" $j >"$TMP/plan.daemon" 2>"$TMP/err.daemon" || rc=$?
                [ $rc = 0 ] || fail "plan --domain $d $j (daemon) exited $rc: $(cat "$TMP/err.daemon")"
                cli --source=sysfs plan --domain $d -c "$URI" $j >"$TMP/plan.local" 2>/dev/null ||
                        fail "plan --domain $d $j (local) failed"
                [ -s "$TMP/plan.local" ] || fail "plan --domain $d $j: no local plan"
                cmp -s "$TMP/plan.daemon" "$TMP/plan.local" || {
                        fail "plan --domain $d $j: the daemon's plan differs from the local one"
                        diff -u "$TMP/plan.local" "$TMP/plan.daemon" | head -20 >&2
                }
        done
done

# Only the daemon knows what other VMs hold: with vm-none's mdev attached to another VM, the
# daemon refuses vm-none's plan (UNIT_HELD, naming that VM); the local plan cannot.
U_NONE=93d027d2-1b51-482e-aab4-3da2abd511c0
cli attach other $U_NONE >/dev/null 2>"$TMP/err" || fail "attach other $U_NONE: $(cat "$TMP/err")"
rc=0
cli plan --domain vm-none -c "$URI" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "vm-none: UNIT_HELD on $U_NONE: it is assigned to VM other" "$TMP/err" ||
        fail "plan --domain vm-none with its mdev held by VM other: exit $rc, $(cat "$TMP/err")"
cli --source=sysfs plan --domain vm-none -c "$URI" >/dev/null 2>&1 || fail "the local plan of vm-none failed"
cli detach other 2>"$TMP/err" || fail "detach other: $(cat "$TMP/err")"

# The daemon read the XML: a domain whose name the daemon could not have known from the
# units alone is named in its plan.
cli plan --domain vm-intel -c "$URI" --json >"$TMP/d.json" || fail "plan --domain vm-intel --json failed"
python3 - "$TMP/d.json" <<'PY' || fail "plan --domain vm-intel through the daemon: wrong plan"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["vm"] == "vm-intel", d["vm"]
assert [u["unit"] for u in d["units"]] == ["29a5d629-5236-452f-9c1b-1e3b31a976cc", "0000:00:01.0"], d["units"]
assert d["units"][0]["explanation"][0].startswith("guest vIOMMU mode G1 (nopasid): <iommu model='intel'>"), d["units"][0]
PY

# attach --domain: the VM is the domain; vms shows it with its units; detach forgets it.
# The sim's host has no policy files, so no VMM vIOMMU is known: vm-intel (<iommu
# model='intel'>) is refused with the daemon's reason, vm-none (no <iommu>) is placed.
rc=0
cli attach --domain vm-intel -c "$URI" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "^mdevpasidctl: vm-intel: NO_VIOMMU_PATH on $LIVE" "$TMP/err" ||
        fail "attach --domain vm-intel: exit $rc, $(cat "$TMP/err")"
rc=0
cli attach --domain vm-none -c "$URI" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 0 ] || fail "attach --domain vm-none exited $rc: $(cat "$TMP/err")"
cli vms --json >"$TMP/vms.json" || fail "vms --json failed"
python3 - "$TMP/vms.json" <<'PY' || fail "vms after attach --domain: vm-none missing or wrong"
import json, sys
vms = json.load(open(sys.argv[1]))
assert [x["Name"] for x in vms] == ["vm-none"], vms
assert vms[0]["Units"] == ["93d027d2-1b51-482e-aab4-3da2abd511c0", "0000:00:02.0"], vms[0]
assert vms[0]["Strategy"] == "direct", vms[0]
PY
# Attaching again with the same domain keeps the record (same units).
cli attach --domain vm-none -c "$URI" >/dev/null 2>"$TMP/err" || fail "attach --domain again: $(cat "$TMP/err")"
cli detach vm-none 2>"$TMP/err" || fail "detach vm-none: $(cat "$TMP/err")"
cli vms --json >"$TMP/vms.json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$TMP/vms.json" ||
        fail "vm-none still listed after detach"

# Errors: an unknown domain names the URI and the fix; usage errors exit 2.
rc=0
cli attach --domain no-such-vm -c "$URI" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "no domain named 'no-such-vm'" "$TMP/err" ||
        fail "attach --domain no-such-vm: exit $rc, $(cat "$TMP/err")"
for args in "attach --domain vm-intel vm1" "attach --domain vm-intel --viommu none" "attach -c $URI vm1 $LIVE" \
        "attach"; do
        rc=0
        # shellcheck disable=SC2086 # the arguments are meant to split
        cli $args >/dev/null 2>"$TMP/err" || rc=$?
        [ $rc = 2 ] || fail "mdevpasidctl $args: exit $rc, expected 2 ($(cat "$TMP/err"))"
done

# Without the daemon, plan --domain is the local plan; attach --domain needs the daemon.
cli plan --domain vm-intel -c "$URI" >"$TMP/plan.before" 2>/dev/null
mdp_sim_daemon_stop
unset DBUS_SYSTEM_BUS_ADDRESS
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/no-bus
export MDEVPASID_ROOT=$TMP/root
unpack_fixture x86-6.12-sm "$MDEVPASID_ROOT"
rc=0
cli plan --domain vm-intel -c "$URI" --json >"$TMP/d.json" 2>"$TMP/err" || rc=$?
[ $rc = 0 ] || fail "plan --domain without the daemon exited $rc: $(cat "$TMP/err")"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["vm"] == "vm-intel"' "$TMP/d.json" ||
        fail "plan --domain without the daemon: no plan for vm-intel"
rc=0
cli attach --domain vm-intel -c "$URI" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc != 0 ] && grep -q "mdevpasidd" "$TMP/err" || fail "attach --domain without the daemon: exit $rc, $(cat "$TMP/err")"
finish
