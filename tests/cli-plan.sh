#!/bin/sh
# mdevpasidctl plan, end to end: golden text and JSON on the real-kernel captures
# (tests/fixtures/real-kernel: emulated mdevs mtty/mdpy/mbochs and the edu PCI function bound
# to vfio-pci) for every --viommu mode, PCI address units, --domain through libvirt's test
# driver (tests/fixtures/plan/<capture>/*.xml), and the errors (exit status and stderr).
# Each golden file holds the command, its stdout, its stderr and its exit status.
# MDP_GOLDEN_UPDATE=1 make check TESTS=tests/cli-plan.sh rewrites them; review the diff.
#
# Faked around the captures: the captures hold sysfs only, so each root gets what the
# capture's logs show about the rest: /dev/vfio/vfio (16-dev-nodes.txt lists it; an empty
# file stands for the char device, /dev/iommu stays absent as it was), /proc/cmdline,
# /proc/sys/kernel/osrelease and /proc/sys/kernel/arch (02-kernel.txt: uname, cmdline, arch). The policy is tests/fixtures/plan/policy.json
# in ROOT/etc/mdevpasid/policy.d (the VMM capabilities a plan needs are asserted there).
. "$top_srcdir/tests/cli-lib.sh"

PLAN_FIXTURES=$FIXTURES/plan

# plan_root VARIANT DIR [nopolicy]
plan_root() {
        unpack_fixture "$1" "$2"
        mkdir -p "$2/dev/vfio" "$2/proc/sys/kernel"
        : >"$2/dev/vfio/vfio"
        sed -n 2p "$FIXTURES/real-kernel/$1/02-kernel.txt" >"$2/proc/cmdline"
        sed -n 1p "$FIXTURES/real-kernel/$1/02-kernel.txt" | cut -d' ' -f3 >"$2/proc/sys/kernel/osrelease"
        sed -n 's/^arch=//p' "$FIXTURES/real-kernel/$1/02-kernel.txt" >"$2/proc/sys/kernel/arch"
        # The iommufd build's 16-dev-nodes.txt also lists /dev/iommu and a VFIO cdev.
        if grep -q "^crw.* /dev/iommu$" "$FIXTURES/real-kernel/$1/16-dev-nodes.txt"; then
                mkdir -p "$2/dev/vfio/devices"
                : >"$2/dev/iommu"
                : >"$2/dev/vfio/devices/vfio0"
        fi
        if [ "${3:-}" != nopolicy ]; then
                mkdir -p "$2/etc/mdevpasid/policy.d"
                cp "$PLAN_FIXTURES/policy.json" "$2/etc/mdevpasid/policy.d/50-test.json"
        fi
        # libvirt's test driver: one node file with the capture's fixture domains.
        if [ -d "$PLAN_FIXTURES/$1" ]; then
                { echo "<node>"; cat "$PLAN_FIXTURES/$1"/*.xml; echo "</node>"; } >"$2/node.xml"
        fi
}

# golden VARIANT ROOT NAME ARGS...: compares with tests/golden/plan/VARIANT/NAME.txt
golden() {
        variant=$1 root=$2 gname=$3
        shift 3
        (
                export MDEVPASID_ROOT="$root"
                record "$@"
        ) | sed -e "s|$root|ROOT|g" -e "s|$top_srcdir|SRCDIR|g" >"$TMP/actual"
        golden_compare "plan/$variant/$gname.txt"
}

# json_check FILE PYTHON-EXPR...: every expression over the document "d" is true.
json_check() {
        python3 - "$@" <<'PY' || fail "JSON check on $1 failed"
import json, sys
d = json.load(open(sys.argv[1]))
for e in sys.argv[2:]:
    if not eval(e):
        sys.exit("false: %s in %s" % (e, json.dumps(d)[:400]))
PY
}

# ---- golden: one emulated mdev (mtty) under each vIOMMU mode, on each capture ----
mtty_x86_sm=29a5d629-5236-452f-9c1b-1e3b31a976cc
mtty_legacy=fa143ee0-1c51-4673-a9d8-e2700b036d4f
mtty_arm=c88d5b66-979d-451d-b6b7-3b77f2ddf6fe
for V in x86-6.12-sm x86-6.12-legacy arm64-6.12-smmuv3; do
        R=$TMP/$V
        plan_root $V "$R"
        case $V in
        x86-6.12-sm) U=$mtty_x86_sm ;;
        x86-6.12-legacy) U=$mtty_legacy ;;
        *) U=$mtty_arm ;;
        esac
        for mode in none nopasid pasid svsa; do
                golden $V "$R" "mtty-$mode" plan --viommu $mode --vm vm1 $U
                golden $V "$R" "mtty-$mode-json" plan --viommu $mode --vm vm1 --json $U
        done
        # PCI address units: the edu function bound to vfio-pci, alone and with the mdev.
        golden $V "$R" "pci-nopasid" plan --viommu nopasid --vm vm1 0000:00:01.0
        golden $V "$R" "pci-mtty-pasid-json" plan --viommu pasid --vm vm1 --json=short 00:01.0 $U
done

# A kernel with iommufd and VFIO cdevs (x86-custom-6.12-iommufd-sm): the same shadow plan on
# an iommufd IOAS instead of a type1 container (§6.5).
V=x86-custom-6.12-iommufd-sm
R=$TMP/$V
plan_root $V "$R"
golden $V "$R" "mtty-nopasid" plan --viommu nopasid --vm vm1 5b4a6d53-d4ae-40f4-b326-3c711dd412f6
golden $V "$R" "pci-mtty-nopasid-json" plan --viommu nopasid --vm vm1 --json 0000:00:01.0 \
        5b4a6d53-d4ae-40f4-b326-3c711dd412f6
json_check "$TMP/stdout" 'd["strategy"] == "shadow"' 'd["kernel_backend"] == "iommufd-ioas"' \
        'any(q.startswith("-object iommufd") for q in d["qemu"])'

# The same mdev with no policy files: every VMM capability unknown, treated as absent, so a
# vIOMMU has no path (NO_VIOMMU_PATH) and the plan lists no policy files.
R=$TMP/nopolicy
plan_root x86-6.12-sm "$R" nopolicy
golden x86-6.12-sm "$R" "nopolicy-mtty-nopasid" plan --viommu nopasid $mtty_x86_sm
MDEVPASID_ROOT=$R cli plan --viommu nopasid --json $mtty_x86_sm >"$TMP/np.json"
json_check "$TMP/np.json" 'd["strategy"] == "refused"' 'd["reason"] == "NO_VIOMMU_PATH"' \
        'd["policy_files"] == []' 'd["vm"] == "unnamed-vm"'

# ---- --domain through libvirt's test driver ----
V=x86-6.12-sm
R=$TMP/$V
URI=test://$R/node.xml
for d in vm-intel vm-intel-pasid vm-virtio vm-none db-1; do
        golden $V "$R" "domain-$d" plan --domain $d -c "$URI"
        golden $V "$R" "domain-$d-json" plan --domain $d -c "$URI" --json
done
golden arm64-6.12-smmuv3 "$TMP/arm64-6.12-smmuv3" "domain-vm-smmuv3" plan --domain vm-smmuv3 \
        -c "test://$TMP/arm64-6.12-smmuv3/node.xml"
golden arm64-6.12-smmuv3 "$TMP/arm64-6.12-smmuv3" "domain-vm-arm-virtio-json" plan --domain vm-arm-virtio \
        -c "test://$TMP/arm64-6.12-smmuv3/node.xml" --json
golden x86-6.12-legacy "$TMP/x86-6.12-legacy" "domain-vm-intel" plan --domain vm-intel \
        -c "test://$TMP/x86-6.12-legacy/node.xml"

# What the goldens must say, asserted apart so a careless MDP_GOLDEN_UPDATE cannot lose it.
export MDEVPASID_ROOT="$R"
cli plan --domain vm-intel -c "$URI" --json >"$TMP/d.json"
json_check "$TMP/d.json" 'd["vm"] == "vm-intel"' 'd["strategy"] == "shadow"' 'd["reason"] is None' \
        '[u["unit"] for u in d["units"]] == ["29a5d629-5236-452f-9c1b-1e3b31a976cc", "0000:00:01.0"]' \
        '[u["kind"] for u in d["units"]] == ["emdev", "pf"]' \
        'd["units"][0]["explanation"][0].startswith("guest vIOMMU mode G1 (nopasid): <iommu model=\x27intel\x27>")' \
        'd["kernel_backend"] == "type1v2-container"' "\"<iommu model='intel'>\" in d[\"libvirt_xml\"]" \
        'any(q.startswith("-device intel-iommu,caching-mode=on") for q in d["qemu"])' \
        'len(d["policy_files"]) == 1 and d["policy_files"][0].endswith("/etc/mdevpasid/policy.d/50-test.json")' \
        'set(d) == {"vm", "strategy", "reason", "units", "kernel_backend", "qemu", "libvirt_xml", "policy_files"}' \
        'all(set(u) == {"unit", "kind", "strategy", "reason", "explanation"} for u in d["units"])'
# metadata guest-pasid='yes' on an emulated mdev: refused, exit 0 (a refusal is a plan).
expect 0 "" plan --domain vm-intel-pasid -c "$URI" --json
json_check "$TMP/out" 'd["strategy"] == "refused"' 'd["reason"] == "EMULATED_NO_PASID"' \
        'd["kernel_backend"] is None' 'd["libvirt_xml"] is None' 'd["qemu"] == []' \
        '"metadata guest-pasid=\x27yes\x27" in d["units"][0]["explanation"][0]'
# <interface type='hostdev'> is a unit; no <iommu> is G0.
cli plan --domain vm-none -c "$URI" --json >"$TMP/d.json"
json_check "$TMP/d.json" '[u["unit"] for u in d["units"]][1] == "0000:00:02.0"' 'd["strategy"] == "direct"' \
        '"no <iommu> element" in d["units"][0]["explanation"][0]'
# Per-VM policy: the "db-*" rule beats the metadata's prefer; a widening request is ignored.
expect 0 "metadata prefer='nest' overridden by .*50-test.json vms\[0\]" plan --domain db-1 -c "$URI"
grep -q "allow-experimental='yes' ignored" "$TMP/err" || fail "db-1: no warning for the widening metadata"
# The domain's vIOMMU model differs from the plan's: said on stderr.
expect 0 "domain vm-virtio has <iommu model='virtio'>, but the plan runs under the intel vIOMMU" \
        plan --domain vm-virtio -c "$URI"
# LIBVIRT_DEFAULT_URI instead of -c.
LIBVIRT_DEFAULT_URI=$URI expect 0 "" plan --domain vm-intel
grep -q "^VM vm-intel: shadow" "$TMP/out" || fail "plan --domain with LIBVIRT_DEFAULT_URI: $(head -1 "$TMP/out")"

# ---- errors: status 1 names the object and the fix, status 2 is a usage error ----
expect 2 "plan: needs --viommu MODE and units, or --domain NAME" plan
expect 2 "--viommu bogus: expected none, nopasid, pasid or svsa" plan --viommu bogus $mtty_x86_sm
expect 2 "needs at least one UNIT" plan --viommu none
expect 2 "--domain and --viommu exclude each other" plan --domain vm-intel --viommu none
expect 2 "--domain and --vm exclude each other" plan --domain vm-intel --vm x
expect 2 "--connect needs --domain" plan -c "$URI" --viommu none $mtty_x86_sm
expect 2 'unexpected argument "0000:00:01.0": with --domain the units are the domain' \
        plan --domain vm-intel -c "$URI" 0000:00:01.0
expect 2 "option --viommu needs a value" plan --viommu
expect 2 "plan: unknown option --dumpjson" plan --dumpjson --viommu none $mtty_x86_sm
expect 1 "unit not-a-unit: neither an mdev UUID nor a PCI address \(such as 0000:01:00.1\)" \
        plan --viommu none not-a-unit
expect 1 "unit 0000:zz:00.0: neither an mdev UUID nor a PCI address" plan --viommu none 0000:zz:00.0
expect 1 "unit 0b1e3c5a-7d9f-4b2e-8c4a-6e8f0a2c4e61: no mdev with this UUID on this host .*create or start it first" \
        plan --viommu none 0b1e3c5a-7d9f-4b2e-8c4a-6e8f0a2c4e61
expect 1 "unit 0000:3b:00.0: no PCI function with this address on this host" plan --viommu none 0000:3b:00.0
expect 1 "unit $mtty_x86_sm is listed twice" plan --viommu none $mtty_x86_sm "$(echo $mtty_x86_sm | tr a-f A-F)"
expect 1 "no domain named 'nosuch' at test://.*check the name with 'virsh -c test://.* list --all'" \
        plan --domain nosuch -c "$URI"
expect 1 "unit 0b1e3c5a-7d9f-4b2e-8c4a-6e8f0a2c4e61: no mdev with this UUID" plan --domain vm-ghost -c "$URI"
expect 1 "domain vm-empty has no mdev or PCI hostdevs, so there is nothing to plan" plan --domain vm-empty -c "$URI"
expect 1 "domain x: cannot connect to libvirt at test:///nonexistent/node.xml" plan --domain x -c test:///nonexistent/node.xml
# Bad domain XML never reaches the reader through libvirt: libvirt refuses the node first, and
# the error carries the URI and libvirt's message (tests/check_domain covers the reader itself
# on the same kinds of input).
for bad in malformed unknown-iommu-model mdev-no-uuid; do
        { echo "<node>"; cat "$PLAN_FIXTURES/bad/$bad.xml"; echo "</node>"; } >"$TMP/node-$bad.xml"
done
expect 1 "domain vm-broken: cannot connect to libvirt at test://$TMP/node-malformed.xml .*Opening and ending tag mismatch" \
        plan --domain vm-broken -c "test://$TMP/node-malformed.xml"
expect 1 "cannot connect to libvirt at test://.*Invalid value for attribute 'model' in element 'iommu': 'bogus'" \
        plan --domain vm-bogus-iommu -c "test://$TMP/node-unknown-iommu-model.xml"
expect 1 "cannot connect to libvirt at test://.*Missing 'uuid' attribute for element <address>" \
        plan --domain vm-no-uuid -c "test://$TMP/node-mdev-no-uuid.xml"

# Policy and profile files: one bad file stops the plan, naming the file; unknown keys warn.
R2=$TMP/badpolicy
plan_root x86-6.12-sm "$R2"
printf '{ "version": 1, "defaults": { "prefer": "fastest" } }\n' >"$R2/etc/mdevpasid/policy.d/60-bad.json"
MDEVPASID_ROOT=$R2 expect 1 "cannot load the policy, so no plan: .*60-bad.json.*prefer" plan --viommu none $mtty_x86_sm
printf '{ "version": 1, "colour": "blue" }\n' >"$R2/etc/mdevpasid/policy.d/60-bad.json"
MDEVPASID_ROOT=$R2 expect 0 "warning: policy: .*colour" plan --viommu none $mtty_x86_sm
grep -q "60-bad.json" "$TMP/out" || fail "the plan does not list the policy file with the unknown key"
rm "$R2/etc/mdevpasid/policy.d/60-bad.json"
mkdir -p "$R2/etc/mdevpasid/profiles"
printf '{ "version": 1, "types": [ { "parent_driver": "mtty", "type_id": "*", "class": "sometimes" } ] }\n' \
        >"$R2/etc/mdevpasid/profiles/50-mdev-samples.json"
MDEVPASID_ROOT=$R2 expect 1 "cannot load the vendor profiles, so no plan: .*50-mdev-samples.json" \
        plan --viommu none $mtty_x86_sm
MDEVPASID_ROOT=relative expect 1 "MDEVPASID_ROOT=relative is not an absolute path" plan --viommu none $mtty_x86_sm
MDEVPASID_ROOT=$TMP/nonexistent expect 1 "$TMP/nonexistent/sys does not exist" plan --viommu none $mtty_x86_sm

# --source=daemon without a daemon fails saying so instead of quietly reading sysfs (the
# daemon-backed plan is in tests/cli-daemon.sh). DBUS_SYSTEM_BUS_ADDRESS points nowhere.
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/no-bus MDEVPASID_ROOT=$R expect 1 "mdevpasidd cannot be asked" \
        plan --source=daemon --viommu none $mtty_x86_sm
MDEVPASID_ROOT=$R expect 0 "" plan --source=sysfs --viommu none $mtty_x86_sm

# Help: the verb is listed, its help documents the exit status.
expect 0 "" --help
grep -q "^  plan " "$TMP/out" || fail "--help does not list plan"
expect 0 "" plan --help
grep -q "0 when a plan was printed, also a refused one" "$TMP/out" || fail "plan --help does not document the exit status"
grep -q -- "--viommu MODE" "$TMP/out" || fail "plan --help does not show --viommu"

# libxml2 (with the ICU and libstdc++ it brings) is loaded for domain XML only
# (lib/domain-xml.c dlopen()s it): not for --version or list. LD_DEBUG=libs shows what the
# dynamic loader loads; plan --domain (libvirt's test driver, which needs it too) shows
# that the check sees libxml2 when it is there.
loaded() {
        LD_DEBUG=libs "$CLI_BIN" "$@" 2>&1 >/dev/null | grep -q 'libxml2\.so'
}
! loaded --version || fail "mdevpasidctl --version loads libxml2"
! loaded list || fail "mdevpasidctl list loads libxml2"
loaded plan --domain vm-intel -c "test://$TMP/x86-6.12-sm/node.xml" ||
        fail "plan --domain does not load libxml2 (or LD_DEBUG=libs shows nothing: the check above proves nothing)"

finish
