# The check-vm cases of the product's programs (sourced by guest-test.sh after the kernel
# cases; same framework). Each checks what a program reports against what the real kernel
# shows in sysfs and against Debian's mdevctl, which the mdevctl-compatible verbs must
# match byte for byte.
#
# State on entry: mtty, mdpy and mbochs loaded with full capacity, no mdev, no definition;
# udevd and the system bus running.

# ctl ARGS...: the CLI, bounded in time.
ctl() { timeout 30 mdevpasidctl "$@"; }

# same_output DESC FILE-OURS FILE-THEIRS: byte-identical, else the diff as diagnostics.
same_output() {
        cmp -s "$2" "$3" && return 0
        fail "$1"
        diff -u "$3" "$2" | head -30 >>$DIAG
        return 1
}

case_cli_parents() {
        need mdevpasidctl || return
        check "parents --json" sh -c 'timeout 30 mdevpasidctl parents --json=short >/tmp/parents.json' || return
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
        check "iommu --json" sh -c 'timeout 30 mdevpasidctl iommu --json=short >/tmp/iommu.json' || return
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
        check "list --json" sh -c 'timeout 30 mdevpasidctl list --json=short >/tmp/list.json'
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

run_product_cases() {
        run_case cli-parents case_cli_parents
        run_case cli-iommu case_cli_iommu
        run_case cli-types-vs-mdevctl case_cli_types_vs_mdevctl
        run_case cli-list case_cli_list
        run_case cli-defined-vs-mdevctl case_cli_defined_vs_mdevctl
}
