#!/bin/sh
# The check-vm guest test (busybox sh, run as root by /init in the guest; tests/vm/run.sh
# builds the initramfs and boots it). Each case prints one line, "PASS <variant>/<name>",
# "FAIL <variant>/<name>: <what>" followed by "  # " diagnostic lines, or
# "SKIP <variant>/<name>: <why>"; the last lines are "N passed, N failed" and the result
# marker "MDP-VM-RESULT variant=V passed=N failed=N", which the host requires.
# With mdp.verbose=1 on the kernel command line (MDP_VM_VERBOSE=1 on the host), passing
# cases print their diagnostics too.
#
# Writing a case: a function that calls the check helpers below, registered with
#   run_case NAME FUNCTION
# A case passes when none of its checks failed. Cases run in order in this one shell, so a
# case may leave state (a UUID, a loaded module) for the next; keep that explicit.

VARIANT=$(sed -n 's/.*mdp\.variant=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
VERBOSE=$(sed -n 's/.*mdp\.verbose=\([0-9]\).*/\1/p' /proc/cmdline | grep -v '^0$')
NPASS=0
NFAIL=0
NSKIP=0
CASE=
CASE_ERR=
DIAG=/tmp/case.diag
UDEVLOG=/tmp/udev-monitor.log
MDEV_BUS=/sys/class/mdev_bus
MDEV_DEVICES=/sys/bus/mdev/devices

# --- framework ------------------------------------------------------------------------
# fail WHAT: record a failure of the current case (it goes on; the case fails at its end).
fail() { CASE_ERR="${CASE_ERR:+$CASE_ERR; }$*"; }
# diag TEXT...: a diagnostic line, printed under the case's FAIL line.
diag() { echo "$*" >>$DIAG; }
# diag_file FILE: a file's lines as diagnostics.
diag_file() { [ -f "$1" ] && sed "s|^|$1: |" "$1" >>$DIAG; }
# skip WHY: the case cannot run here; say why.
skip() { CASE_SKIP=$*; }

run_case() {
        CASE=$VARIANT/$1
        CASE_ERR=
        CASE_SKIP=
        : >$DIAG
        t0=$(ms)
        "$2"
        t1=$(ms)
        if [ -n "$CASE_SKIP" ]; then
                NSKIP=$((NSKIP + 1))
                echo "SKIP $CASE: $CASE_SKIP"
        elif [ -z "$CASE_ERR" ]; then
                NPASS=$((NPASS + 1))
                echo "PASS $CASE ($((t1 - t0)) ms)"
                [ -n "$VERBOSE" ] && sed 's/^/  # /' $DIAG
        else
                NFAIL=$((NFAIL + 1))
                echo "FAIL $CASE: $CASE_ERR"
                sed 's/^/  # /' $DIAG
        fi
}

# ms: guest uptime in milliseconds.
ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# check DESC CMD...: CMD must succeed; its output becomes diagnostics when it does not.
check() {
        _d=$1
        shift
        "$@" >/tmp/check.out 2>&1
        _rc=$?
        [ $_rc = 0 ] && return 0
        fail "$_d"
        diag "\$ $*  (exit $_rc)"
        diag_file /tmp/check.out
        return 1
}
# check_eq DESC GOT WANT
check_eq() {
        [ "$2" = "$3" ] && return 0
        fail "$1: got '$2', want '$3'"
        return 1
}
# check_grep DESC PATTERN FILE: FILE must have a line matching the extended regex PATTERN.
check_grep() {
        grep -qE "$2" "$3" 2>/dev/null && return 0
        fail "$1"
        diag "no line matches /$2/ in $3"
        return 1
}
# check_write_fails DESC ERRTEXT VALUE FILE: writing VALUE to FILE must fail with the
# kernel's errno, whose strerror text is ERRTEXT (busybox prints "write error: <text>").
check_write_fails() {
        if timeout 20 sh -c "echo '$3' > '$4'" 2>/tmp/check.out; then
                fail "$1: writing '$3' to $4 succeeded"
                return 1
        fi
        grep -q "$2" /tmp/check.out && return 0
        fail "$1: writing '$3' to $4 failed, but not with '$2'"
        diag_file /tmp/check.out
        return 1
}
# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds or SECONDS (of uptime,
# whatever CMD itself takes) pass.
wait_for() {
        _end=$(($(ms) + $1 * 1000))
        shift
        while :; do
                "$@" >/dev/null 2>&1 && return 0
                [ "$(ms)" -lt $_end ] || return 1
                usleep 100000
        done
}

# --- kernel helpers -------------------------------------------------------------------
uuid() { cat /proc/sys/kernel/random/uuid; }
type_dir() { echo "$MDEV_BUS/$1/mdev_supported_types/$2"; }
avail() { cat "$(type_dir "$1" "$2")/available_instances"; }
# sysfs_create PARENT TYPE UUID / sysfs_remove UUID, bounded in time (remove blocks while a
# VFIO user holds the device).
sysfs_create() { timeout 20 sh -c "echo $3 > $(type_dir "$1" "$2")/create"; }
sysfs_remove() { timeout 20 sh -c "echo 1 > $MDEV_DEVICES/$1/remove"; }
mdev_group() { basename "$(readlink "$MDEV_DEVICES/$1/iommu_group")"; }
# udev_events: the udev monitor log as one line per event ("ACTION DEVPATH KEY=VALUE ...").
udev_events() {
        [ -f $UDEVLOG ] || return 0
        awk 'BEGIN { RS = ""; FS = "\n" }
             /^UDEV/ { line = ""; for (i = 2; i <= NF; i++) line = line " " $i; print line }' $UDEVLOG
}
# has_bit HEX BIT: is BIT set in the hexadecimal register value HEX?
has_bit() { [ $(((0x${1#0x} >> $2) & 1)) = 1 ]; }

# --- cases: guest environment ---------------------------------------------------------
case_boot() {
        check_eq "variant from the kernel command line" "${VARIANT:-none}" "$BOOT_VARIANT"
        diag "kernel $(uname -r), $(uname -m), $(nproc) cpus"
        case $VARIANT in
        smmuv3) check "an SMMUv3 instance is present" sh -c 'ls -d /sys/class/iommu/smmu3.*' ;;
        *) check "the dmar0 VT-d unit is present" test -d /sys/class/iommu/dmar0/intel-iommu ;;
        esac
}

# The tools of the dynamic userland are only in the x86 initramfs.
need() {
        command -v "$1" >/dev/null && return 0
        case $1 in
        mdevpasid*) skip "no $1 in this guest: this tree does not build it yet" ;;
        *) skip "no $1 in this guest (the $(uname -m) initramfs carries static tools only)" ;;
        esac
        return 1
}

case_udevd() {
        need systemd-udevd || return
        mkdir -p /run/udev /etc/udev/rules.d
        if ! systemd-udevd --daemon >/tmp/udevd.log 2>&1; then
                fail "systemd-udevd --daemon failed"
                diag_file /tmp/udevd.log
                return
        fi
        check "udevd answers a ping" udevadm control --ping --timeout=10
        # udev-processed events only: proves they went through systemd-udevd.
        udevadm monitor --udev --property >$UDEVLOG 2>&1 &
        UDEV_MONITOR_PID=$!
        check "udevadm monitor runs" wait_for 5 grep -q 'UDEV - the event' $UDEVLOG && HAVE_UDEV=1
}

case_dbus() {
        need dbus-daemon || return
        mkdir -p /run/dbus
        uuid | tr -d - >/etc/machine-id
        if ! dbus-daemon --config-file=/etc/dbus-system.conf --fork --print-pid=3 3>/tmp/dbus.pid >/tmp/dbus.log 2>&1; then
                fail "dbus-daemon did not start"
                diag_file /tmp/dbus.log
                return
        fi
        check "system bus socket" wait_for 5 test -S /run/dbus/system_bus_socket
        check "the bus answers" dbus-send --system --print-reply --dest=org.freedesktop.DBus \
                /org/freedesktop/DBus org.freedesktop.DBus.GetId
        check "busctl talks to it" busctl --system list --no-pager
}

case_modules() {
        check "modprobe vfio_iommu_type1" modprobe vfio_iommu_type1
        for m in mtty mdpy mbochs; do
                check "modprobe $m" modprobe $m
        done
        check "/dev/vfio/vfio exists" test -c /dev/vfio/vfio
        dmesg | grep -iE 'mtty|mdpy|mbochs|vfio|mdev' | tail -5 >/tmp/dmesg.out
        diag_file /tmp/dmesg.out
}

# --- cases: the kernel facts the product relies on ------------------------------------
case_parents() {
        check_eq "parents in $MDEV_BUS" "$(ls $MDEV_BUS | tr '\n' ' ')" "mbochs mdpy mtty "
        for p in mtty mdpy mbochs; do
                check "$p is a virtual device" test -d "/sys/devices/virtual/$p/$p/mdev_supported_types"
        done
}

# Type attributes as the kernel reports them (TESTING.md layer 7 §4.1).
EXPECTED_TYPES="
mtty mtty-1 24 Single_port_serial -
mtty mtty-2 12 Dual_port_serial -
mdpy mdpy-vga 4 mdpy-vga virtual_display,_640x480_framebuffer
mdpy mdpy-xga 4 mdpy-xga virtual_display,_1024x768_framebuffer
mdpy mdpy-hd 4 mdpy-hd virtual_display,_1920x1080_framebuffer
mbochs mbochs-small 64 mbochs-small virtual_display,_4_MB_video_memory
mbochs mbochs-medium 16 mbochs-medium virtual_display,_16_MB_video_memory
mbochs mbochs-large 4 mbochs-large virtual_display,_64_MB_video_memory"

case_types() {
        echo "$EXPECTED_TYPES" | while read -r p t n name desc; do
                [ -n "$p" ] || continue
                d=$(type_dir $p $t)
                if [ ! -d "$d" ]; then
                        echo "$p/$t missing"
                        continue
                fi
                [ "$(cat $d/available_instances)" = "$n" ] || echo "$t available_instances $(cat $d/available_instances), want $n"
                [ "$(cat $d/name | tr ' ' _)" = "$name" ] || echo "$t name '$(cat $d/name)'"
                [ "$(cat $d/device_api)" = vfio-pci ] || echo "$t device_api '$(cat $d/device_api)'"
                if [ "$desc" = - ]; then
                        [ ! -e $d/description ] || echo "$t has a description file"
                else
                        [ "$(cat $d/description | tr ' ' _)" = "$desc" ] || echo "$t description '$(cat $d/description)'"
                fi
        done >/tmp/types.out
        [ -s /tmp/types.out ] && { fail "type attributes differ"; diag_file /tmp/types.out; }
        check_eq "number of types" "$(ls -d $MDEV_BUS/*/mdev_supported_types/* | wc -l)" 8
}

case_iommu_ecap() {
        ecap=$(cat /sys/class/iommu/dmar0/intel-iommu/ecap)
        diag "ecap $ecap cap $(cat /sys/class/iommu/dmar0/intel-iommu/cap)"
        # IOMMU-SPEC §2.2: SMTS is ecap bit 43.
        case $VARIANT in
        sm) has_bit "$ecap" 43 || fail "SMTS (ecap bit 43) clear in ecap $ecap, want set" ;;
        legacy) has_bit "$ecap" 43 && fail "SMTS (ecap bit 43) set in ecap $ecap, want clear" ;;
        esac
}

# What the guest kernel really runs: RTADDR_REG (offset 0x20) bits 11:10 = TTM, 01 scalable,
# 00 legacy. Needs iomem=relaxed for /dev/mem.
case_iommu_ttm() {
        a=$(cat /sys/class/iommu/dmar0/intel-iommu/address)
        r=$(devmem $(printf 0x%x $((0x$a + 0x20))) 64 2>/tmp/devmem.err) || {
                fail "devmem of RTADDR failed"
                diag_file /tmp/devmem.err
                return
        }
        diag "RTADDR $r"
        case $VARIANT in
        sm) check_eq "RTADDR.TTM" $(((r >> 10) & 3)) 1 ;;
        legacy) check_eq "RTADDR.TTM" $(((r >> 10) & 3)) 0 ;;
        esac
}

# IOMMU-SPEC §2.4: sysfs shows an SMMUv3 but none of its capabilities; the registers are
# there through /dev/mem (QEMU 7.2: stage 1 only, no substreams, so no PASID).
case_iommu_smmuv3() {
        set -- /sys/class/iommu/smmu3.*
        check "an smmu3.* instance" test -e "$1" || return
        check_eq "attributes of $1" "$(ls "$1" | tr '\n' ' ')" "device devices power subsystem uevent "
        check "it is the SMMUv3 platform device's" sh -c "readlink -f $1 | grep -q '\.smmuv3/iommu/'"
        base=${1##*/smmu3.}
        idr0=$(devmem $base 32 2>/tmp/devmem.err) || { fail "devmem of IDR0 failed"; diag_file /tmp/devmem.err; return; }
        idr1=$(devmem $(printf 0x%x $((base + 4))) 32)
        diag "IDR0 $idr0 IDR1 $idr1"
        check_eq "IDR0.S1P" $(((idr0 >> 1) & 1)) 1
        check_eq "IDR1.SSIDSIZE" $(((idr1 >> 6) & 0x1f)) 0
}

# Which PCI functions have an IOMMU group: on x86 every one from boot; on arm64 with a
# device tree only those a driver bound (QEMU's edu has none), so a reader must not assume
# that every PCI device has a group (TESTING.md layer 7 §6).
case_pci_groups() {
        edu=
        for d in /sys/bus/pci/devices/*; do
                read -r v <$d/vendor
                read -r i <$d/device
                [ "$v:$i" = 0x1234:0x11e8 ] && edu=$d
        done
        check "QEMU's edu device is on the bus" test -n "$edu" || return
        case $VARIANT in
        smmuv3) check "edu, with no driver, has no IOMMU group" test ! -e $edu/iommu_group ;;
        *) check "edu has an IOMMU group from boot" test -e $edu/iommu_group ;;
        esac
        [ -n "$CASE_ERR" ] && ls -l /sys/bus/pci/devices/*/iommu_group >>$DIAG 2>&1
}

case_create_remove() {
        u=$(uuid)
        before=$(avail mdpy mdpy-vga)
        check "create mdpy-vga $u" sysfs_create mdpy mdpy-vga $u || return
        check "device appears" wait_for 5 test -e $MDEV_DEVICES/$u/driver
        check_eq "mdev_type link" "$(basename "$(readlink $MDEV_DEVICES/$u/mdev_type)")" mdpy-vga
        check_eq "parent" "$(basename "$(dirname "$(readlink -f $MDEV_DEVICES/$u)")")" mdpy
        g=$(mdev_group $u)
        # IOMMU-SPEC §1.4: an emulated mdev sits in VFIO's own "vfio-noiommu" group.
        check_eq "group name" "$(cat /sys/kernel/iommu_groups/$g/name 2>&1)" vfio-noiommu
        check "/dev/vfio/$g exists" test -c /dev/vfio/$g
        check_eq "available_instances after create" "$(avail mdpy mdpy-vga)" $((before - 1))
        check "listed under the type" test -e "$(type_dir mdpy mdpy-vga)/devices/$u"
        check "remove" sysfs_remove $u
        check "device gone" wait_for 5 test ! -e $MDEV_DEVICES/$u
        check "/dev/vfio/$g gone" wait_for 5 test ! -e /dev/vfio/$g
        check_eq "available_instances after remove" "$(avail mdpy mdpy-vga)" $before
        CREATED_UUID=$u
}

case_create_errors() {
        u=$(uuid)
        check "create" sysfs_create mtty mtty-1 $u || return
        check_write_fails "duplicate UUID" "File exists" $u "$(type_dir mtty mtty-1)/create"
        check_write_fails "malformed UUID" "Invalid argument" not-a-uuid "$(type_dir mtty mtty-1)/create"
        sysfs_remove $u
}

case_capacity() {
        t=$(type_dir mbochs mbochs-large)
        us=
        for i in 1 2 3 4; do
                u=$(uuid)
                check "create #$i" sysfs_create mbochs mbochs-large $u && us="$us $u"
        done
        check_eq "available_instances when full" "$(cat $t/available_instances)" 0
        check_write_fails "a 5th mbochs-large" "No space left on device" $(uuid) $t/create
        for u in $us; do sysfs_remove $u; done
        check_eq "available_instances after cleanup" "$(cat $t/available_instances)" 4
}

# mtty's two types share one pool of 24 ports: one mtty-2 takes two.
case_shared_pool() {
        u=$(uuid)
        check "create mtty-2" sysfs_create mtty mtty-2 $u || return
        check_eq "mtty-1 available" "$(avail mtty mtty-1)" 22
        check_eq "mtty-2 available" "$(avail mtty mtty-2)" 11
        sysfs_remove $u
        check_eq "mtty-1 available after remove" "$(avail mtty mtty-1)" 24
}

# A VFIO user (vfio-hold) holds the device: the kernel's remove blocks until it lets go.
case_remove_blocks() {
        u=$(uuid)
        check "create" sysfs_create mbochs mbochs-small $u || return
        wait_for 5 test -e $MDEV_DEVICES/$u/driver
        g=$(mdev_group $u)
        real=$(readlink -f $MDEV_DEVICES/$u)
        vfio-hold $g $u 30 >/tmp/hold.out 2>&1 &
        hp=$!
        if ! wait_for 10 grep -q holding /tmp/hold.out; then
                fail "vfio-hold did not take the device"
                diag_file /tmp/hold.out
                kill $hp 2>/dev/null
                sysfs_remove $u
                return
        fi
        before=$(avail mbochs mbochs-small)
        rm -f /tmp/remove.rc
        (sysfs_remove $u; echo $? >/tmp/remove.rc) &
        sleep 1
        [ -n "$HAVE_UDEV" ] && udevadm settle --timeout=5
        # What a daemon sees during a blocked remove: device_del unlinks the device from the
        # bus and the type and releases the driver link before the driver's remove, which
        # waits for the VFIO user. The device directory, the group node and the instance
        # stay, and the mdev's unbind/remove uevents come only after the release: the bus
        # link vanishing is not the end of a stop.
        check "remove still blocked while held" test ! -e /tmp/remove.rc
        check "device directory still there while held" test -d $real
        check "/dev/vfio/$g still there while held" test -e /dev/vfio/$g
        check "bus link already gone while held" test ! -e $MDEV_DEVICES/$u
        check "entry under the type already gone while held" test ! -e $(type_dir mbochs mbochs-small)/devices/$u
        check_eq "available_instances while held" "$(avail mbochs mbochs-small)" $before
        if [ -n "$HAVE_UDEV" ]; then
                udev_events | grep "/$u" >/tmp/blocked-events.txt
                grep -qE "ACTION=(unbind|remove) DEVPATH=[^ ]*/$u SUBSYSTEM=mdev" /tmp/blocked-events.txt &&
                        fail "the mdev's unbind/remove uevent came before the holder let go"
                sed 's/^/udev while blocked:/' /tmp/blocked-events.txt >>$DIAG
        fi
        kill $hp
        wait $hp
        check "remove returned after release" wait_for 10 test -s /tmp/remove.rc
        check_eq "remove exit status" "$(cat /tmp/remove.rc 2>&1)" 0
        check "device gone" wait_for 5 test ! -e $real
        check_eq "available_instances after release" "$(avail mbochs mbochs-small)" $((before + 1))
        if [ -n "$HAVE_UDEV" ]; then
                udevadm settle --timeout=5
                udev_events >/tmp/events.txt
                check_grep "unbind of the mdev after release" "ACTION=unbind DEVPATH=[^ ]*/$u SUBSYSTEM=mdev" /tmp/events.txt
                check_grep "remove of the mdev after release" "ACTION=remove DEVPATH=[^ ]*/$u SUBSYSTEM=mdev" /tmp/events.txt
        fi
        diag_file /tmp/hold.out
}

case_udev_events() {
        [ -n "$HAVE_UDEV" ] || { skip "systemd-udevd is not running"; return; }
        udevadm settle --timeout=10
        udev_events >/tmp/events.txt
        for p in mtty mdpy mbochs; do
                check_grep "udev: $p registered" "^ ACTION=change DEVPATH=/devices/virtual/$p/$p .*MDEV_STATE=registered" /tmp/events.txt
        done
        if [ -n "$CREATED_UUID" ]; then
                check_grep "udev: add of the mdev" "ACTION=add DEVPATH=/devices/virtual/mdpy/mdpy/$CREATED_UUID SUBSYSTEM=mdev" /tmp/events.txt
                check_grep "udev: bind of the mdev" "ACTION=bind DEVPATH=/devices/virtual/mdpy/mdpy/$CREATED_UUID SUBSYSTEM=mdev .*DRIVER=mdpy" /tmp/events.txt
                check_grep "udev: remove of the mdev" "ACTION=remove DEVPATH=/devices/virtual/mdpy/mdpy/$CREATED_UUID SUBSYSTEM=mdev" /tmp/events.txt
        else
                fail "no mdev from create-remove to look for"
        fi
        [ -n "$CASE_ERR" ] && tail -20 /tmp/events.txt >>$DIAG
}

# rmmod of a parent with a live mdev succeeds: the kernel removes the child, then the parent
# says MDEV_STATE=unregistered, then the parent device goes (TESTING.md layer 7 §4.2).
case_parent_removal() {
        u=$(uuid)
        check "create mtty-1" sysfs_create mtty mtty-1 $u || return
        wait_for 5 test -e $MDEV_DEVICES/$u/driver
        check "rmmod mtty with a live mdev" rmmod mtty
        check "the mdev is gone" test ! -e $MDEV_DEVICES/$u
        check "the parent is gone" test ! -e $MDEV_BUS/mtty
        [ -n "$HAVE_UDEV" ] && udevadm settle --timeout=10
        udev_events >/tmp/events.txt
        rm_line=$(grep -n "ACTION=remove DEVPATH=/devices/virtual/mtty/mtty/$u " /tmp/events.txt | cut -d: -f1 | head -1)
        un_line=$(grep -n "ACTION=change DEVPATH=/devices/virtual/mtty/mtty .*MDEV_STATE=unregistered" /tmp/events.txt | cut -d: -f1 | head -1)
        pr_line=$(grep -n "ACTION=remove DEVPATH=/devices/virtual/mtty/mtty SUBSYSTEM=mtty" /tmp/events.txt | cut -d: -f1 | head -1)
        if [ -z "$HAVE_UDEV" ]; then
                : # no udevd in this guest: the event order is checked on x86
        elif [ -z "$rm_line" ] || [ -z "$un_line" ] || [ -z "$pr_line" ]; then
                fail "udev events missing (mdev remove: ${rm_line:-none}, unregistered: ${un_line:-none}, parent remove: ${pr_line:-none})"
                tail -20 /tmp/events.txt >>$DIAG
        elif [ "$rm_line" -gt "$un_line" ] || [ "$un_line" -gt "$pr_line" ]; then
                fail "udev event order: mdev remove #$rm_line, unregistered #$un_line, parent remove #$pr_line"
        fi
        check "modprobe mtty again" modprobe mtty
        check_eq "mtty-1 available after reload" "$(avail mtty mtty-1 2>&1)" 24
}

# Debian's mdevctl on the real kernel: the peer the daemon shares /etc/mdevctl.d with.
case_mdevctl() {
        need mdevctl || return
        check "mdevctl types --dumpjson" sh -c 'mdevctl types --dumpjson >/tmp/mdevctl-types.json'
        check_eq "mdevctl: mdpy-vga available_instances" \
                "$(jq -r '.[0].mdpy[] | select(has("mdpy-vga")) | .["mdpy-vga"].available_instances' /tmp/mdevctl-types.json 2>&1)" 4
        u=$(uuid)
        check "mdevctl define" mdevctl define -u $u -p mdpy -t mdpy-vga || return
        check "definition file" test -s /etc/mdevctl.d/mdpy/$u
        check "mdevctl start" mdevctl start -u $u
        check "started in sysfs" wait_for 5 test -e $MDEV_DEVICES/$u/driver
        check_eq "mdevctl list" "$(mdevctl list 2>&1 | grep $u)" "$u mdpy mdpy-vga manual (defined)"
        check "mdevctl stop" mdevctl stop -u $u
        check "stopped in sysfs" wait_for 5 test ! -e $MDEV_DEVICES/$u
        check "mdevctl undefine" mdevctl undefine -u $u
        check "definition file gone" test ! -e /etc/mdevctl.d/mdpy/$u
}

# --- run ------------------------------------------------------------------------------
echo "guest-test: variant $VARIANT, kernel $(uname -r)"
BOOT_VARIANT=$VARIANT
case $VARIANT in sm | legacy | smmuv3) ;; *) BOOT_VARIANT="sm, legacy or smmuv3" ;; esac

run_case boot case_boot
run_case udevd case_udevd
run_case dbus case_dbus
run_case modules case_modules
run_case parents case_parents
run_case types case_types
if [ "$VARIANT" = smmuv3 ]; then
        run_case iommu-smmuv3 case_iommu_smmuv3
else
        run_case iommu-ecap case_iommu_ecap
        run_case iommu-ttm case_iommu_ttm
fi
run_case pci-groups case_pci_groups
run_case create-remove case_create_remove
run_case create-errors case_create_errors
run_case capacity-enospc case_capacity
run_case shared-pool case_shared_pool
run_case remove-blocks-while-held case_remove_blocks
run_case udev-events case_udev_events
run_case parent-removal case_parent_removal
run_case mdevctl case_mdevctl

# The product's programs (x86 only: the arm64 initramfs has none).
. /guest-product.sh
if [ "$VARIANT" = smmuv3 ]; then
        echo "SKIP $VARIANT/product: the arm64 guest carries no program of this tree"
else
        run_product_cases
fi

[ -n "$UDEV_MONITOR_PID" ] && kill $UDEV_MONITOR_PID 2>/dev/null
if [ $NFAIL -gt 0 ] || [ -n "$VERBOSE" ]; then
        # For the serial log (the host prints only the case lines).
        echo "===== dmesg"
        dmesg
        echo "===== udev events"
        udev_events
        echo "====="
fi
if [ $NSKIP -gt 0 ]; then
        echo "$NPASS passed, $NFAIL failed, $NSKIP skipped"
else
        echo "$NPASS passed, $NFAIL failed"
fi
echo "MDP-VM-RESULT variant=$VARIANT passed=$NPASS failed=$NFAIL skipped=$NSKIP"
