#!/bin/sh
# Golden output of every mdevpasidctl read verb, text and JSON, on the real-kernel captures
# (tests/fixtures/real-kernel) with a few definitions (tests/fixtures/cli/mdevctl.d).
# Each golden file holds the command, its stdout, its stderr and its exit status.
# MDP_GOLDEN_UPDATE=1 make check TESTS=tests/cli-golden.sh rewrites them; review the diff.
. "$top_srcdir/tests/cli-lib.sh"

golden() {
        variant=$1 root=$2
        shift 2
        (
                export MDEVPASID_ROOT="$root"
                record "$@"
        ) | sed -e "s|$root|ROOT|g" -e "s|$top_srcdir|SRCDIR|g" >"$TMP/actual"
        golden_compare "$variant/$(printf '%s' "$*" | tr ' ' '_').txt"
}

# The main capture, with definitions: every verb and output form.
V=x86-6.12-sm
R=$TMP/$V
unpack_fixture $V "$R"
mkdir -p "$R/etc"
cp -r "$FIXTURES/cli/mdevctl.d" "$R/etc/mdevctl.d"
mkdir -p "$R/etc/mdevctl.d/mbochs" # an empty parent directory lists nothing
LIVE=29a5d629-5236-452f-9c1b-1e3b31a976cc
for args in "iommu" "iommu --json" "iommu --json=short" \
        "parents" "parents --json" "parents --no-legend" \
        "types" "types --json" "types --dumpjson" "types -p mtty" "types -p nosuch" "types -p nosuch --dumpjson" \
        "list" "list -v" "list --json" "list --dumpjson" "list -p mdpy" "list -p nosuch --dumpjson" \
        "list -d" "list -d -v" "list -d --json" "list -d --dumpjson" "list -d -p mdpy --dumpjson" \
        "list -u $LIVE" "list -u $LIVE --dumpjson" "list -u $LIVE -v --json" \
        "list -d -u cc2a83fb-38a3-4a2a-9b14-a61bd6c96a31 --dumpjson"; do
        # shellcheck disable=SC2086 # the arguments are meant to split
        golden $V "$R" $args
done

# SMMUv3: capabilities unknown (sysfs shows no registers, IOMMU-SPEC §2.4).
V=arm64-6.12-smmuv3
R=$TMP/$V
unpack_fixture $V "$R"
for args in "iommu" "iommu --json" "parents" "parents --json" "types" "types --json" "list" "list --json" "list -d"; do
        # shellcheck disable=SC2086
        golden $V "$R" $args
done

# The other captures: the IOMMU decode (legacy: no SMTS; x-pasid-mode: PASID, PSS=0).
for V in x86-6.12-legacy x86-6.12-sm-pasid x86-6.1-sm x86-custom-6.12-iommufd-sm; do
        R=$TMP/$V
        unpack_fixture $V "$R"
        golden $V "$R" iommu
        golden $V "$R" iommu --json
done

finish
