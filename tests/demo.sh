#!/bin/bash
# The README's first command: sets up the machine (installs missing Debian packages,
# builds into build/), then starts the real mdevpasidd on a private D-Bus over the built-in
# simulated host and tours mdevpasidctl as an administrator would. The simulated host is
# tests/sim/mdp-kernel-sim playing the kernel on the sysfs of a real Debian 6.12 kernel (q35
# with VT-d in scalable mode and the kernel's mdev sample parents mtty, mdpy and mbochs;
# tests/fixtures/real-kernel/x86-6.12-sm): writing a UUID to a type's create file makes the
# device appear, with the uevents the real kernel sends. Nothing on the host is read or
# written; the daemon, the bus and the simulated host are stopped and removed at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

mdp_install_packages "${MDP_PACKAGES[@]}"
mdp_bootstrap
mdp_build build

B=$MDP_TOP/build
CLI=$B/cli/mdevpasidctl
export MDEVPASID_DATADIR=$MDP_TOP/conf
source "$MDP_TOP/tests/sim-daemon.sh"

MON=
finish() {
        [ -n "$MON" ] && kill "$MON" 2>/dev/null && wait "$MON" 2>/dev/null
        mdp_sim_daemon_stop
}
trap finish EXIT
trap 'exit 130' INT TERM

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
        say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
else
        say() { printf '\n# %s\n' "$*"; }
fi
run() {
        printf '$ mdevpasidctl %s\n' "$*"
        "$CLI" "$@"
}

say "Starting mdevpasidd on a private D-Bus over the simulated host (a recorded Debian 6.12 kernel)..."
mdp_sim_daemon_start "$B" "$MDP_TOP" x86-6.12-sm
mdp_sim_cli_env # DBUS_SYSTEM_BUS_ADDRESS: the private bus; MDEVPASID_ROOT: the simulated host's tree
echo "mdevpasidd runs as pid $MDP_SIM_DAEMON_PID on $DBUS_SYSTEM_BUS_ADDRESS"

# Every event the daemon announces, from here on, into a file shown at the end.
"$CLI" monitor >"$MDP_SIM_ROOT/monitor.out" 2>/dev/null &
MON=$!

say "What an administrator reads first (the default verb): the daemon, the IOMMU, counts, warnings:"
run status
say "mdev parents, and the types of one of them in mdevctl's format:"
run parents
run types -p mtty

U=0d7e1a52-5b64-4ad3-9c1e-9f0a8e4c6b01
say "Define an mdev with mdevctl's options, start it (the simulated kernel creates it), list, stop:"
run define -u $U -p mtty -t mtty-1 --auto
run start -u $U
run list
run list -u $U --json=short
run stop -u $U
run list --defined
run undefine -u $U
say "Errors name the object and the fix (exit status 1, as mdevctl):"
run start -u $U || echo "(exit status $?)"

LIVE=29a5d629-5236-452f-9c1b-1e3b31a976cc
say "How a VM with the live mtty device would get its DMA translated, for each guest vIOMMU mode"
say "(the daemon's PlanVm; the first lines of each plan):"
for mode in none nopasid pasid svsa; do
        run plan --viommu $mode $LIVE | sed -n '1,2p'
done
say "The whole plan for a guest without a vIOMMU, with the QEMU options and libvirt XML to use:"
run plan --viommu none $LIVE

say "What \"mdevpasidctl monitor\" printed meanwhile (a line per event, like udevadm monitor):"
# Wait until the last event of the tour arrived (bounded), then stop it as Ctrl-C would.
for _ in $(seq 100); do
        grep -q "removed  device $U" "$MDP_SIM_ROOT/monitor.out" && break
        sleep 0.05
done
kill -INT "$MON"
wait "$MON" || true
MON=
grep -v "Types=\|Warnings=" "$MDP_SIM_ROOT/monitor.out" | head -n 12

say "Done. mdevpasidd, its bus and the simulated host are stopped and removed now; without"
say "DBUS_SYSTEM_BUS_ADDRESS and MDEVPASID_ROOT the same commands talk to this machine's daemon."
