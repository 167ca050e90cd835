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
say "Done. This was a recorded host in $root (now removed); without MDEVPASID_ROOT the same commands read this machine."
