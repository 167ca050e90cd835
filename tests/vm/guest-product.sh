# The check-vm cases of the product's programs (sourced by guest-test.sh after the kernel
# cases; same framework). Each checks what a program reports against what the real kernel
# shows in sysfs and against Debian's mdevctl, which the mdevctl-compatible verbs must
# match byte for byte.
#
# State on entry: mtty, mdpy and mbochs loaded with full capacity, no mdev, no definition;
# udevd and the system bus running.

# ctl ARGS...: the CLI, bounded in time. Until the daemon starts (case_daemon_start) the
# read verbs are checked on their sysfs path, said explicitly: under --source=auto they
# would say on stderr that the daemon is not running (case_cli_no_daemon checks that).
CTL_SOURCE=--source=sysfs
ctl() { timeout 30 mdevpasidctl $CTL_SOURCE "$@"; }

# same_output DESC FILE-OURS FILE-THEIRS: byte-identical, else the diff as diagnostics.
same_output() {
        cmp -s "$2" "$3" && return 0
        fail "$1"
        diff -u "$3" "$2" | head -30 >>$DIAG
        return 1
}

case_cli_parents() {
        need mdevpasidctl || return
        check "parents --json" sh -c 'timeout 30 mdevpasidctl --source=sysfs parents --json=short >/tmp/parents.json' || return
        check_eq "parents" "$(jq -r '.[].Name' /tmp/parents.json 2>&1 | sort | tr '\n' ' ')" "mbochs mdpy mtty "
        # Every type with its kernel count; none is PASID-granular (IOMMU-SPEC §1.4).
        check_eq "types" "$(jq -r '.[].Types[] | "\(.Parent) \(.Id) \(.AvailableInstances) \(.DeviceApi) \(.Class)"' /tmp/parents.json 2>&1 | sort | tr '\n' ';')" \
                "$(echo "$EXPECTED_TYPES" | awk 'NF { print $1, $2, $3, "vfio-pci", "emulated" }' | sort | tr '\n' ';')"
        check_eq "mtty-1 has no description" "$(jq -r '.[].Types[] | select(.Id == "mtty-1") | .Description' /tmp/parents.json 2>&1)" null
        check_eq "parent errors" "$(jq -r '[.[] | select(.Error != null) | .Error] | join("; ")' /tmp/parents.json 2>&1)" ""
}

# IOMMU-SPEC §2.2: scalable mode from the real ecap (SMTS) and the kernel command line.
case_cli_iommu() {
        need mdevpasidctl || return
        check "iommu --json" sh -c 'timeout 30 mdevpasidctl --source=sysfs iommu --json=short >/tmp/iommu.json' || return
        want="vtd true true"
        [ "$VARIANT" = legacy ] && want="vtd false false"
        check_eq "dmar0: family, scalable mode supported, scalable mode on" \
                "$(jq -r '.Iommus[] | select(.Name == "dmar0") | "\(.Family) \(.Capabilities.ScalableModeSupported) \(.Capabilities.ScalableMode)"' /tmp/iommu.json 2>&1)" "$want"
        check_eq "dmar0: ecap as read from sysfs" \
                "$(jq -r '.Iommus[] | select(.Name == "dmar0") | .Registers.ecap' /tmp/iommu.json 2>&1)" \
                "$(printf '0x%016x' 0x$(cat /sys/class/iommu/dmar0/intel-iommu/ecap))"
        # Debian's 6.12 has no iommufd; the type1 container is there. (VFIO cdevs: see
        # cli-list, with a VFIO device to look at.)
        check_eq "kernel features iommufd, vfio_container" \
                "$(jq -r '.KernelFeatures | "\(.iommufd) \(.vfio_container)"' /tmp/iommu.json 2>&1)" "false true"
        [ -n "$CASE_ERR" ] && jq -c '.Iommus[].Capabilities, .KernelFeatures' /tmp/iommu.json >>$DIAG 2>&1
}

# The mdevctl-compatible verbs against Debian's mdevctl on the same real host.
case_cli_types_vs_mdevctl() {
        need mdevpasidctl || return
        need mdevctl || return
        ctl types --dumpjson >/tmp/ours.json 2>/tmp/ours.err
        mdevctl types --dumpjson >/tmp/theirs.json 2>&1
        same_output "types --dumpjson differs from mdevctl's" /tmp/ours.json /tmp/theirs.json
        ctl types >/tmp/ours.txt 2>>/tmp/ours.err
        mdevctl types >/tmp/theirs.txt 2>&1
        same_output "types differs from mdevctl's" /tmp/ours.txt /tmp/theirs.txt
        [ -s /tmp/ours.err ] && { fail "mdevpasidctl types wrote to stderr"; diag_file /tmp/ours.err; }
}

case_cli_list() {
        need mdevpasidctl || return
        u=$(uuid)
        check "create mbochs-medium" sysfs_create mbochs mbochs-medium $u || return
        check "bound" wait_for 5 test -e $MDEV_DEVICES/$u/driver
        g=$(mdev_group $u)
        check "list --json" sh -c 'timeout 30 mdevpasidctl --source=sysfs list --json=short >/tmp/list.json'
        check_eq "the mdev as the CLI sees it" \
                "$(jq -r --arg u $u '.[] | select(.Uuid == $u) | "\(.Parent) \(.Type) \(.Active) \(.Defined) \(.Driver) \(.IommuGroup) \(.GroupName) \(.VfioGroup) \(.Class)"' /tmp/list.json 2>&1)" \
                "mbochs mbochs-medium true false mbochs $g vfio-noiommu /dev/vfio/$g emulated"
        # Its vfio-dev node has no char device: no CONFIG_VFIO_DEVICE_CDEV in Debian's 6.12.
        check_eq "kernel feature vfio_cdev with a VFIO device present" \
                "$(ctl iommu --json=short 2>&1 | jq -r .KernelFeatures.vfio_cdev 2>&1)" false
        if command -v mdevctl >/dev/null; then
                ctl list >/tmp/ours.txt 2>&1
                mdevctl list >/tmp/theirs.txt 2>&1
                same_output "list differs from mdevctl's" /tmp/ours.txt /tmp/theirs.txt
                ctl list --dumpjson >/tmp/ours.json 2>&1
                mdevctl list --dumpjson >/tmp/theirs.json 2>&1
                same_output "list --dumpjson differs from mdevctl's" /tmp/ours.json /tmp/theirs.json
        fi
        sysfs_remove $u
        check_eq "list after remove" "$(ctl list --json=short 2>&1 | jq -r --arg u $u '[.[] | select(.Uuid == $u)] | length' 2>&1)" 0
}

# Definitions mdevctl wrote are read as mdevctl reads them.
case_cli_defined_vs_mdevctl() {
        need mdevpasidctl || return
        need mdevctl || return
        u1=$(uuid)
        u2=$(uuid)
        check "mdevctl define (auto)" mdevctl define -u $u1 -p mdpy -t mdpy-xga --auto
        check "mdevctl define (manual)" mdevctl define -u $u2 -p mtty -t mtty-2
        check "mdevctl modify --addattr" mdevctl modify -u $u2 --addattr=irq --value=5
        for args in "list -d" "list -d -v" "list -d --dumpjson" "list -d -u $u2 --dumpjson"; do
                ctl $args >/tmp/ours.txt 2>&1
                mdevctl $args >/tmp/theirs.txt 2>&1
                same_output "'$args' differs from mdevctl's" /tmp/ours.txt /tmp/theirs.txt
        done
        mdevctl undefine -u $u1
        mdevctl undefine -u $u2
}

# plan (issue 3) on the real kernel: IOMMU-SPEC §6.3 row EMDEV is the same on every host
# (direct without a vIOMMU, shadow under one without PASIDs, refused EMULATED_NO_PASID with
# PASIDs), while a PCI function's plan follows the host IOMMU: on the legacy boot nesting is
# ruled out by SMTS=0, on the scalable boot by NEST=0 (QEMU 7.2 never sets it). The policy
# file asserts the VMM capabilities a shadow plan needs (the guest has no QEMU to ask).
case_cli_plan() {
        need mdevpasidctl || return
        mkdir -p /etc/mdevpasid/policy.d
        echo '{ "version": 1, "vmm": { "intel-iommu.caching-mode": true, "virtio-iommu-pci": true } }' \
                >/etc/mdevpasid/policy.d/50-check-vm.json
        u=$(uuid)
        check "create mtty-2" sysfs_create mtty mtty-2 $u || return
        for mode in none nopasid pasid svsa; do
                check "plan --viommu $mode" sh -c "timeout 30 mdevpasidctl --source=sysfs plan --viommu $mode --vm vm1 --json=short $u >/tmp/plan-$mode.json 2>/tmp/plan-$mode.err"
                [ -s /tmp/plan-$mode.err ] && { fail "plan --viommu $mode wrote to stderr"; diag_file /tmp/plan-$mode.err; }
        done
        check_eq "none: strategy reason backend" "$(jq -r '"\(.strategy) \(.reason) \(.kernel_backend)"' /tmp/plan-none.json 2>&1)" \
                "direct null type1v2-container"
        check_eq "none: the unit is an emulated mdev" "$(jq -r '.units[0] | "\(.unit) \(.kind)"' /tmp/plan-none.json 2>&1)" "$u emdev"
        check_eq "nopasid: strategy reason" "$(jq -r '"\(.strategy) \(.reason)"' /tmp/plan-nopasid.json 2>&1)" "shadow null"
        check_grep "nopasid: an intel vIOMMU in caching mode" "<iommu model='intel'>" /tmp/plan-nopasid.json
        check_grep "nopasid: QEMU's intel-iommu with caching-mode=on" "intel-iommu,caching-mode=on" /tmp/plan-nopasid.json
        check_eq "pasid: refused" "$(jq -r '"\(.strategy) \(.reason)"' /tmp/plan-pasid.json 2>&1)" "refused EMULATED_NO_PASID"
        check_eq "svsa: refused" "$(jq -r '"\(.strategy) \(.reason)"' /tmp/plan-svsa.json 2>&1)" "refused EMULATED_NO_PASID"
        check_eq "the policy file is named (last: policy.d after mdevpasid.conf)" "$(jq -r '.policy_files[-1]' /tmp/plan-none.json 2>&1)" \
                /etc/mdevpasid/policy.d/50-check-vm.json
        # QEMU's edu function (no driver; on x86 in its own IOMMU group from boot).
        edu=
        for d in /sys/bus/pci/devices/*; do
                [ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] && edu=$(basename $d)
        done
        if check "QEMU's edu device is on the bus" test -n "$edu"; then
                check "plan --viommu nopasid with edu" sh -c "timeout 30 mdevpasidctl --source=sysfs plan --viommu nopasid --json=short $u $edu >/tmp/plan-edu.json"
                check_eq "edu with the mdev: strategies" "$(jq -r '[.strategy] + [.units[] | "\(.kind):\(.strategy)"] | join(" ")' /tmp/plan-edu.json 2>&1)" \
                        "shadow emdev:shadow pf:shadow"
                case $VARIANT in
                legacy) check_grep "legacy: no nesting, the hardware has no scalable mode" \
                        "nest not feasible on vtd: missing scalable mode on=no .*ecap SMTS=0" /tmp/plan-edu.json ;;
                *) check_grep "sm: no nesting, ecap NEST=0" "nest not feasible on vtd: missing ecap NEST=0" /tmp/plan-edu.json
                   if grep -q "scalable mode on=no" /tmp/plan-edu.json; then fail "sm: the plan says scalable mode is off"; fi ;;
                esac
                # edu's config space is readable here (the captures hold none): no PASID capability.
                check "plan --viommu pasid with edu" sh -c "timeout 30 mdevpasidctl --source=sysfs plan --viommu pasid --json=short $edu >/tmp/plan-edu-pasid.json"
                check_eq "edu, pasid: refused" "$(jq -r '"\(.strategy) \(.reason)"' /tmp/plan-edu-pasid.json 2>&1)" "refused NO_PASID_NEST"
                check_grep "edu: its PASID capability is read, not unknown" "PASID capability=no \\(device $edu\\)" /tmp/plan-edu-pasid.json
                [ -n "$CASE_ERR" ] && diag_file /tmp/plan-edu.json && diag_file /tmp/plan-edu-pasid.json
        fi
        [ -n "$CASE_ERR" ] && diag_file /tmp/plan-nopasid.json
        sysfs_remove $u
        rm -f /etc/mdevpasid/policy.d/50-check-vm.json
}

# --- the daemon, through its D-Bus API (conf/org.mdevpasid1.xml) ------------------------
BUS_NAME=org.mdevpasid1
BUS_PATH=/org/mdevpasid1
BUS_MANAGER=org.mdevpasid1.Manager
DAEMON_LOG=/tmp/mdevpasidd.log
DAEMON_PID=

# mgr METHOD SIGNATURE ARGS...: a Manager call through busctl, the reply as JSON.
mgr() {
        _m=$1
        shift
        timeout 30 busctl --system --json=short call $BUS_NAME $BUS_PATH $BUS_MANAGER "$_m" "$@"
}
# mgr_send METHOD DBUS-SEND-ARGS...: the same through dbus-send, which prints the D-Bus
# error name ("Error org.mdevpasid1.Error.X: message") that busctl leaves out.
mgr_send() {
        _m=$1
        shift
        timeout 30 dbus-send --system --print-reply --dest=$BUS_NAME $BUS_PATH "$BUS_MANAGER.$_m" "$@"
}
mgr_prop() { timeout 30 busctl --system --json=short get-property $BUS_NAME $BUS_PATH $BUS_MANAGER "$1"; }
daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }
# daemon_device UUID: "active defined start" of UUID in ListDevices(defined=false).
daemon_device() { mgr ListDevices b false | jq -r --arg u "$1" '.data[0][] | select(.[0] == $u) | "\(.[3]) \(.[4]) \(.[5])"'; }
daemon_active() { [ "$(daemon_device "$1" | cut -d' ' -f1)" = true ]; }
daemon_inactive() { mgr ListDevices b false >/tmp/devices.json && ! jq -e --arg u "$1" '.data[0][] | select(.[0] == $u and .[3])' /tmp/devices.json >/dev/null; }
daemon_has_parent() { mgr ListParents | jq -e --arg p "$1" '.data[0][] | select(.[0] == $p)' >/dev/null; }
daemon_lacks_parent() { mgr ListParents >/tmp/parents.json && ! jq -e --arg p "$1" '.data[0][] | select(.[0] == $p)' /tmp/parents.json >/dev/null; }
# define PARENT TYPE UUID AUTOSTART(true|false)
define() { mgr Define 'sssba(ss)a{sv}' "$1" "$2" "$3" "$4" 0 0; }
# exited PID: a child that has exited (a zombie until waited for) or is gone.
exited() { [ ! -e /proc/$1/stat ] || [ "$(cut -d' ' -f3 /proc/$1/stat)" = Z ]; }
daemon_log_tail() { tail -15 $DAEMON_LOG | sed 's/^/mdevpasidd: /' >>$DIAG; }

case_daemon_start() {
        need mdevpasidd || return
        # mdpy comes back after the daemon (autostart), so the daemon starts without it.
        check "rmmod mdpy before the daemon starts" rmmod mdpy
        mkdir -p /var/lib/mdevpasid /run/mdevpasid
        MDEVPASID_LOG_LEVEL=debug mdevpasidd >$DAEMON_LOG 2>&1 &
        DAEMON_PID=$!
        if ! wait_for 30 mgr_prop Version; then
                fail "$BUS_NAME is not on the system bus 30 s after the daemon started"
                diag_file $DAEMON_LOG
                return
        fi
        check "the daemon runs" daemon_alive
        check_grep "the daemon says it is ready" "Ready: 2 parents" $DAEMON_LOG
        CTL_SOURCE= # from here on the CLI asks the daemon
}

case_daemon_discovery() {
        daemon_alive || { skip "the daemon is not running"; return; }
        check_eq "ListParents" "$(mgr ListParents 2>&1 | jq -r '.data[0][][0]' 2>&1 | sort | tr '\n' ' ')" "mbochs mtty "
        check_eq "ListTypes: every type and count" \
                "$(mgr ListTypes s "" 2>&1 | jq -r '.data[0][] | "\(.[0]) \(.[1]) \(.[5])"' 2>&1 | sort | tr '\n' ';')" \
                "$(echo "$EXPECTED_TYPES" | awk '$1 != "mdpy" && NF { print $1, $2, $3 }' | sort | tr '\n' ';')"
        mgr_send ListTypes string:mdpy >/tmp/nosuch.out 2>&1
        check_grep "ListTypes of an absent parent is NoSuchParent" "org.mdevpasid1.Error.NoSuchParent" /tmp/nosuch.out
}

# IOMMU-SPEC §2.2: SMTS from the real ecap, as the daemon publishes it.
case_daemon_iommu() {
        daemon_alive || { skip "the daemon is not running"; return; }
        want=yes
        [ "$VARIANT" = legacy ] && want=no
        mgr_prop Iommus >/tmp/iommus.json 2>&1
        check_eq "Iommus: dmar0 family and SMTS" \
                "$(jq -r '.data[] | select(.[0] == "dmar0") | "\(.[1]) \(.[2].SMTS)"' /tmp/iommus.json 2>&1)" "vtd $want"
        check_eq "KernelFeatures iommufd, vfio_container" \
                "$(mgr_prop KernelFeatures 2>&1 | jq -r '.data | "\(.iommufd) \(.vfio_container)"' 2>&1)" "no yes"
        [ -n "$CASE_ERR" ] && diag_file /tmp/iommus.json
}

# Define, start, stop, undefine through the CLI (issue 8: as an administrator does it),
# which goes through the daemon; every step checked in sysfs, in /etc/mdevctl.d, in the
# daemon's ListDevices and by Debian's mdevctl.
case_daemon_lifecycle() {
        daemon_alive || { skip "the daemon is not running"; return; }
        u=$(uuid)
        ctl status >/tmp/status.out 2>&1
        check_grep "status: the daemon runs" "^mdevpasidd: running" /tmp/status.out
        check "mdevpasidctl define" ctl define -u $u -p mbochs -t mbochs-small || return
        check "definition file" test -s /etc/mdevctl.d/mbochs/$u
        check_eq "the file in mdevctl's format" "$(jq -r '"\(.mdev_type) \(.start)"' /etc/mdevctl.d/mbochs/$u 2>&1)" "mbochs-small manual"
        check_eq "mdevctl sees the definition" "$(mdevctl list -d 2>&1 | grep $u)" "$u mbochs mbochs-small manual"
        check "mdevpasidctl start" ctl start -u $u
        check "active in sysfs" test -e $MDEV_DEVICES/$u/driver
        check_eq "ListDevices: active, defined, start" "$(daemon_device $u 2>&1)" "true true manual"
        check_eq "mdevctl sees it active" "$(mdevctl list 2>&1 | grep $u)" "$u mbochs mbochs-small manual (defined)"
        check_eq "mdevpasidctl list (from the daemon) agrees" "$(ctl list 2>&1 | grep $u)" "$u mbochs mbochs-small manual (defined)"
        check_eq "mdevpasidctl list --json: State" "$(ctl list -u $u --json=short 2>&1 | jq -r '.[0].State' 2>&1)" "active"
        check "mdevpasidctl stop" ctl stop -u $u
        check "gone from sysfs" test ! -e /sys/devices/virtual/mbochs/mbochs/$u
        check "still defined" test -s /etc/mdevctl.d/mbochs/$u
        check "mdevpasidctl undefine" ctl undefine -u $u
        check "definition file gone" test ! -e /etc/mdevctl.d/mbochs/$u
        check_eq "ListDevices(defined) after undefine" \
                "$(mgr ListDevices b true 2>&1 | jq -r --arg u $u '[.data[0][] | select(.[0] == $u)] | length' 2>&1)" 0
        [ -n "$CASE_ERR" ] && daemon_log_tail
}

# An auto definition on a parent that is not loaded starts when its module is loaded.
case_autostart() {
        daemon_alive || { skip "the daemon is not running"; return; }
        AUTO_UUID=$(uuid)
        check "Define autostart on the absent mdpy" define mdpy mdpy-vga $AUTO_UUID true || return
        check "modprobe mdpy" modprobe mdpy
        check "started by the daemon" wait_for 30 test -e $MDEV_DEVICES/$AUTO_UUID/driver
        check "the daemon reports it active" wait_for 10 daemon_active $AUTO_UUID
        check "the daemon lists mdpy" daemon_has_parent mdpy
        [ -n "$CASE_ERR" ] && daemon_log_tail
}

case_daemon_capacity() {
        daemon_alive || { skip "the daemon is not running"; return; }
        us=
        for i in 1 2 3 4 5; do
                u=$(uuid)
                check "Define #$i" define mbochs mbochs-large $u false && us="$us $u"
        done
        n=0
        for u in $us; do
                n=$((n + 1))
                if [ $n -lt 5 ]; then
                        check "Start #$n" mgr Start ss $u ""
                else
                        mgr_send Start string:$u string: >/tmp/start5.out 2>&1
                        check_grep "a 5th Start is NoCapacity" "org.mdevpasid1.Error.NoCapacity" /tmp/start5.out
                        check_grep "the message names the type" "mbochs-large" /tmp/start5.out
                        diag_file /tmp/start5.out
                        check "nothing left behind" test ! -e /sys/devices/virtual/mbochs/mbochs/$u
                fi
        done
        for u in $us; do
                mgr Stop s $u >/dev/null 2>&1
                mgr Undefine ss $u "" >/dev/null 2>&1
        done
        check_eq "available_instances after cleanup" "$(avail mbochs mbochs-large)" 4
}

# A VFIO user holds the device: Stop says Busy and names the holder, other calls still
# answer at once, nothing is changed; once released, Stop works.
case_stop_while_held() {
        daemon_alive || { skip "the daemon is not running"; return; }
        u=$(uuid)
        check "Define" define mbochs mbochs-small $u false || return
        check "Start" mgr Start ss $u "" || return
        g=$(mdev_group $u)
        vfio-hold $g $u 120 >/tmp/hold.out 2>&1 &
        hp=$!
        if ! wait_for 10 grep -q holding /tmp/hold.out; then
                fail "vfio-hold did not take the device"
                diag_file /tmp/hold.out
                kill $hp 2>/dev/null
                return
        fi
        rm -f /tmp/stop.rc
        (mgr_send Stop string:$u >/tmp/stop.out 2>&1; echo $? >/tmp/stop.rc) &
        sleep 1
        t0=$(ms)
        check "ListParents answers while a Stop is pending" mgr ListParents
        check "the CLI answers while a Stop is pending" ctl list
        t1=$(ms)
        [ $((t1 - t0)) -lt 10000 ] || fail "other calls took $((t1 - t0)) ms while a Stop was pending"
        check "Stop returned while the holder still holds" wait_for 40 test -s /tmp/stop.rc
        check_grep "Stop is Busy" "org.mdevpasid1.Error.Busy" /tmp/stop.out
        check_grep "Busy names the holder" "vfio-hold|pid $hp" /tmp/stop.out
        diag_file /tmp/stop.out
        check "the daemon still runs" daemon_alive
        kill $hp
        wait $hp
        if [ -d /sys/devices/virtual/mbochs/mbochs/$u ]; then
                check "Stop after release" mgr Stop s $u
        fi
        check "gone from sysfs" wait_for 10 test ! -d /sys/devices/virtual/mbochs/mbochs/$u
        check "the daemon reports it inactive" wait_for 10 daemon_inactive $u
        mgr Undefine ss $u "" >/dev/null 2>&1
        [ -n "$CASE_ERR" ] && daemon_log_tail
}

# rmmod of a parent with a live mdev: the daemon drops the parent and the device, keeps the
# definition, and when the parent registers again lists it and starts the auto definition
# again (a second registration is a new one).
case_daemon_parent_removal() {
        daemon_alive || { skip "the daemon is not running"; return; }
        check "the auto device is active" daemon_active "$AUTO_UUID" || return
        check "rmmod mdpy with a live mdev" rmmod mdpy
        check "parent gone from the daemon" wait_for 10 daemon_lacks_parent mdpy
        check "device inactive in the daemon" wait_for 10 daemon_inactive $AUTO_UUID
        check "definition kept" test -s /etc/mdevctl.d/mdpy/$AUTO_UUID
        check "the daemon still runs" daemon_alive
        check "modprobe mdpy again" modprobe mdpy
        check "the daemon lists mdpy again" wait_for 10 daemon_has_parent mdpy
        check "auto definition started again" wait_for 30 test -e $MDEV_DEVICES/$AUTO_UUID/driver
        check "active in the daemon again" wait_for 10 daemon_active $AUTO_UUID
        # mdpy's types share one pool of 4 displays.
        check_eq "its types, one display in use" "$(mgr ListTypes s mdpy 2>&1 | jq -r '.data[0][] | "\(.[1]) \(.[5])"' 2>&1 | sort | tr '\n' ';')" \
                "mdpy-hd 3;mdpy-vga 3;mdpy-xga 3;"
        mgr Stop s $AUTO_UUID >/dev/null 2>&1
        mgr Undefine ss $AUTO_UUID "" >/dev/null 2>&1
        [ -n "$CASE_ERR" ] && daemon_log_tail
}

case_daemon_exit() {
        daemon_alive || { skip "the daemon is not running"; return; }
        u=$(uuid)
        check "Define" define mtty mtty-1 $u false
        check "Start" mgr Start ss $u ""
        kill -TERM $DAEMON_PID
        check "SIGTERM ends the daemon" wait_for 15 exited $DAEMON_PID
        wait $DAEMON_PID
        check_eq "exit status after SIGTERM" $? 0
        check "a started device outlives the daemon" test -e $MDEV_DEVICES/$u
        sysfs_remove $u
        rm -f /etc/mdevctl.d/mtty/$u
        grep -E 'AddressSanitizer|runtime error|Assertion' $DAEMON_LOG >/tmp/daemon-bad.txt &&
                { fail "sanitizer or assertion reports in the daemon's log"; diag_file /tmp/daemon-bad.txt; }
}

# Before the daemon runs, on the guest's real system bus: a read verb reads sysfs and says
# so on stderr; a mutating verb fails (1) saying how to start the daemon.
case_cli_no_daemon() {
        need mdevpasidctl || return
        check "list without the daemon" sh -c 'timeout 30 mdevpasidctl list >/tmp/nd.out 2>/tmp/nd.err'
        check_grep "list says it read sysfs" "mdevpasidd is not running; reading sysfs directly" /tmp/nd.err
        rc=0
        timeout 30 mdevpasidctl define -p mbochs -t mbochs-small >/tmp/nd.out 2>/tmp/nd.err || rc=$?
        check_eq "define without the daemon: exit status" "$rc" 1
        check_grep "define says how to start the daemon" "systemctl start mdevpasidd" /tmp/nd.err
}

run_product_cases() {
        run_case cli-no-daemon case_cli_no_daemon
        run_case cli-parents case_cli_parents
        run_case cli-iommu case_cli_iommu
        run_case cli-types-vs-mdevctl case_cli_types_vs_mdevctl
        run_case cli-list case_cli_list
        run_case cli-defined-vs-mdevctl case_cli_defined_vs_mdevctl
        run_case cli-plan case_cli_plan
        run_case daemon-start case_daemon_start
        run_case daemon-discovery case_daemon_discovery
        run_case daemon-iommu case_daemon_iommu
        run_case daemon-lifecycle case_daemon_lifecycle
        run_case autostart case_autostart
        run_case daemon-capacity case_daemon_capacity
        run_case stop-while-held case_stop_while_held
        run_case daemon-parent-removal case_daemon_parent_removal
        run_case daemon-exit case_daemon_exit
}
