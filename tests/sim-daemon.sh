# Sourced (bash or POSIX sh): the real mdevpasidd on a private D-Bus over the built-in
# simulated host, for shell scripts (the README demo, the CLI's daemon tests). The same
# pieces tests/harness.c puts together for Check programs:
#   - tests/sim/mdp-kernel-sim plays the kernel on a real-kernel capture (a umockdev testbed;
#     writes to create/remove go to it through a preloaded shim, tests/sim/README.md);
#   - a private dbus-daemon with a permissive system-type configuration;
#   - daemon/mdevpasidd under the shim, MDEVPASID_ROOT = the testbed.
# Nothing on the host is read or written. What is faked: the kernel (sysfs, uevents, /dev
# nodes as regular files) and the bus's policy (everyone may call everything).
#
#   mdp_sim_daemon_start BUILDDIR SRCDIR [VARIANT]   sets MDP_SIM_ROOT, MDP_SIM_BUS,
#                                                     MDP_SIM_DAEMON_PID, MDP_SIM_BUS_PID
#   mdp_sim_cli_env                                   exports what a client needs
#   mdp_sim_daemon_stop                               stops all three, removes the testbed
# The caller's shell keeps its environment (no LD_PRELOAD leaks into it).

mdp_sim_daemon_start() {
        _b=$1 _s=$2 _v=${3:-x86-6.12-sm}
        MDP_SIM_BIN=$_b/tests/sim/mdp-kernel-sim
        _out=$("$MDP_SIM_BIN" start --daemon --fixture "$_v") || {
                echo "sim-daemon: mdp-kernel-sim did not start on $_v" >&2
                return 1
        }
        MDP_SIM_ROOT=$(printf '%s\n' "$_out" | sed -n "s/^MDEVPASID_ROOT='\(.*\)'$/\1/p")
        MDP_SIM_PRELOAD=$(printf '%s\n' "$_out" | sed -n "s/^LD_PRELOAD='\(.*\)'$/\1/p")
        MDP_SIM_PID=$(printf '%s\n' "$_out" | sed -n "s/^MDP_SIM_PID='\(.*\)'$/\1/p")
        [ -n "$MDP_SIM_ROOT" ] && [ -d "$MDP_SIM_ROOT" ] || {
                echo "sim-daemon: no testbed in mdp-kernel-sim's output" >&2
                return 1
        }
        chmod 0711 "$MDP_SIM_ROOT"
        mkdir -p "$MDP_SIM_ROOT/bus"
        MDP_SIM_BUS="unix:path=$MDP_SIM_ROOT/bus/system_bus_socket"
        cat >"$MDP_SIM_ROOT/bus/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  <listen>$MDP_SIM_BUS</listen>
</busconfig>
EOF
        _info=$(env -u LD_PRELOAD "${DBUS_DAEMON:-dbus-daemon}" --config-file="$MDP_SIM_ROOT/bus/bus.conf" --fork \
                --nopidfile --print-pid=1) || {
                echo "sim-daemon: dbus-daemon did not start" >&2
                mdp_sim_daemon_stop
                return 1
        }
        MDP_SIM_BUS_PID=$(printf '%s\n' "$_info" | head -n1)
        env UMOCKDEV_DIR="$MDP_SIM_ROOT" MDEVPASID_ROOT="$MDP_SIM_ROOT" LD_PRELOAD="$MDP_SIM_PRELOAD" \
                DBUS_SYSTEM_BUS_ADDRESS="$MDP_SIM_BUS" MDEVPASID_DATADIR="${MDEVPASID_DATADIR:-$_s/conf}" \
                "$_b/daemon/mdevpasidd" --log-level=info >"$MDP_SIM_ROOT/daemon.log" 2>&1 &
        MDP_SIM_DAEMON_PID=$!
        # Ready when it owns its name (it takes the name after its first scan).
        _i=0
        while [ $_i -lt 200 ]; do
                if env -u LD_PRELOAD dbus-send --bus="$MDP_SIM_BUS" --print-reply --dest=org.freedesktop.DBus \
                        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.mdevpasid1 2>/dev/null |
                        grep -q 'boolean true'; then
                        return 0
                fi
                if ! kill -0 "$MDP_SIM_DAEMON_PID" 2>/dev/null; then
                        echo "sim-daemon: mdevpasidd exited; its log:" >&2
                        cat "$MDP_SIM_ROOT/daemon.log" >&2
                        MDP_SIM_DAEMON_PID=
                        mdp_sim_daemon_stop
                        return 1
                fi
                sleep 0.05
                _i=$((_i + 1))
        done
        echo "sim-daemon: mdevpasidd did not take org.mdevpasid1 in 10 s" >&2
        mdp_sim_daemon_stop
        return 1
}

# The environment of a client of that daemon: the private bus, and the testbed for what
# the CLI still reads from sysfs (IOMMU registers).
mdp_sim_cli_env() {
        DBUS_SYSTEM_BUS_ADDRESS=$MDP_SIM_BUS
        MDEVPASID_ROOT=$MDP_SIM_ROOT
        export DBUS_SYSTEM_BUS_ADDRESS MDEVPASID_ROOT
}

# mdp_sim_ctl ARGS...: a command to the simulated host (tests/sim/README.md).
mdp_sim_ctl() {
        env -u LD_PRELOAD "$MDP_SIM_BIN" ctl "$MDP_SIM_ROOT" "$@"
}

_mdp_sim_kill() { # PID: TERM, wait up to 5 s, then KILL
        [ -n "$1" ] || return 0
        kill -TERM "$1" 2>/dev/null || return 0
        _i=0
        while kill -0 "$1" 2>/dev/null && [ $_i -lt 100 ]; do
                sleep 0.05
                _i=$((_i + 1))
        done
        kill -KILL "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
}

mdp_sim_daemon_stop() {
        _mdp_sim_kill "${MDP_SIM_DAEMON_PID:-}"
        _mdp_sim_kill "${MDP_SIM_BUS_PID:-}"
        MDP_SIM_DAEMON_PID= MDP_SIM_BUS_PID=
        if [ -n "${MDP_SIM_ROOT:-}" ] && [ -d "$MDP_SIM_ROOT" ]; then
                env -u LD_PRELOAD "$MDP_SIM_BIN" ctl "$MDP_SIM_ROOT" stop >/dev/null 2>&1 || {
                        _mdp_sim_kill "${MDP_SIM_PID:-}"
                        rm -rf "$MDP_SIM_ROOT"
                }
        fi
        MDP_SIM_ROOT=
}
