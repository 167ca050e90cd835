#!/bin/bash
# The README's first command: sets up the machine (installs missing Debian packages,
# builds into build/), then tours mdevpasidctl on a built-in simulated host: the sysfs of a
# real Debian 6.12 kernel (q35 with VT-d in scalable mode and the kernel's mdev sample
# parents mtty, mdpy and mbochs; tests/fixtures/real-kernel/x86-6.12-sm), unpacked to a
# temporary root that MDEVPASID_ROOT points at. Nothing on the host is read or written, and
# the temporary root is removed at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

mdp_install_packages "${MDP_PACKAGES[@]}"
mdp_bootstrap
mdp_build build

CLI=$MDP_TOP/build/cli/mdevpasidctl
root=$(mktemp -d /tmp/mdp-demo.XXXXXX)
trap 'rm -rf "$root"' EXIT
tar -xzf "$MDP_TOP/tests/fixtures/real-kernel/x86-6.12-sm/sysfs-fixture.tar.gz" -C "$root"
export MDEVPASID_ROOT=$root MDEVPASID_DATADIR=$MDP_TOP/conf

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
        say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
else
        say() { printf '\n# %s\n' "$*"; }
fi
run() {
        printf '$ mdevpasidctl %s\n' "$*"
        "$CLI" "$@"
}

say "The host's IOMMU, register by register (VT-d in scalable mode, no PASID support):"
run iommu
say "The same as JSON, for scripts (yes/no/unknown are true/false/null):"
run iommu --json=short | head -c 600
echo " ..."
say "mdev parents and their types:"
run parents
run types -p mtty
say "Live mdevs, in mdevctl's format (and in mdevctl's JSON, which libvirt parses):"
run list
run list --dumpjson
say "The same devices as mdevpasid sees them (every one emulated: its group is vfio-noiommu):"
run list --json -u 29a5d629-5236-452f-9c1b-1e3b31a976cc
say "How would a VM get this mdev's DMA translated? mdevpasidctl plan, for each guest vIOMMU mode."
# The capture holds sysfs only: put back what its logs show and plan reads (/dev/vfio/vfio,
# the kernel command line, the architecture), and a policy saying what this host's QEMU
# supports (tests/fixtures/plan/policy.json: caching-mode and virtio-iommu, no nesting).
cap=$MDP_TOP/tests/fixtures/real-kernel/x86-6.12-sm
mkdir -p "$root/dev/vfio" "$root/proc/sys/kernel" "$root/etc/mdevpasid/policy.d"
: >"$root/dev/vfio/vfio"
sed -n 2p "$cap/02-kernel.txt" >"$root/proc/cmdline"
sed -n 's/^arch=//p' "$cap/02-kernel.txt" >"$root/proc/sys/kernel/arch"
cp "$MDP_TOP/tests/fixtures/plan/policy.json" "$root/etc/mdevpasid/policy.d/50-demo.json"
mtty=29a5d629-5236-452f-9c1b-1e3b31a976cc
say "No vIOMMU: the host maps guest memory once (summary and table; the rest as below):"
run plan --viommu none --vm demo $mtty | head -n 6
say "A vIOMMU without PASIDs: shadowed by QEMU, with the QEMU options and libvirt XML to use:"
run plan --viommu nopasid --vm demo $mtty
say "A vIOMMU with PASIDs, or shared virtual addressing: an emulated mdev has no PASID path:"
run plan --viommu pasid --vm demo $mtty | head -n 6
run plan --viommu svsa --vm demo --json=short $mtty | head -c 300
echo " ..."
say "Done. This was a recorded host in $root (now removed); without MDEVPASID_ROOT the same commands read this machine."
