#!/bin/sh
# mdevctl compatibility: the same commands run against Debian's mdevctl and against
# mdevpasidctl on the same trees must print the same bytes on stdout and exit the same way
# (MDEVCTL.md §2.2-§2.3). mdevctl 1.2.0 has no root override, so it runs in a private mount
# namespace with the tree bind-mounted over /sys and /etc/mdevctl.d (tests/tools/
# in-fake-root.sh); we read the same tree through MDEVPASID_ROOT. stderr may differ (our
# warnings name the file). The documented differences are tested at the end.
# Needs root, mdevctl, unshare and python3; skipped (77) otherwise.
. "$top_srcdir/tests/cli-lib.sh"

MDEVCTL=${MDEVCTL:-no}
[ "$MDEVCTL" != no ] || MDEVCTL=$(command -v mdevctl || echo no)
if [ "$MDEVCTL" = no ] || [ "$(id -u)" != 0 ] || [ ! -d /etc/mdevctl.d ] || ! command -v unshare >/dev/null ||
        ! command -v python3 >/dev/null; then
        echo "skipped: needs root, mdevctl, /etc/mdevctl.d, unshare and python3"
        exit 77
fi
if ! unshare -m true 2>/dev/null; then
        echo "skipped: cannot create a mount namespace here"
        exit 77
fi
IN_ROOT=$top_srcdir/tests/tools/in-fake-root.sh
GEN=$top_srcdir/tests/tools/gen-fake-sysfs.py
checks=0

# Commands are queued per tree and run as one batch: mdevctl in one namespace (setting one
# up costs more than the command), then ours. A queued line is split on blanks.
# queue ROOT ARGS...: mdevctl and mdevpasidctl must agree on stdout and exit status.
queue() {
        root=$1
        shift
        echo "$*" >>"$root.cmds"
}

# run ROOT: runs the queued commands of ROOT and compares.
run() {
        root=$1
        mkdir -p "$root.m"
        # shellcheck disable=SC2016 # expanded by the inner shell
        sh "$IN_ROOT" "$root" sh -c '
                i=0
                while read -r line; do
                        i=$((i + 1))
                        rc=0
                        $1 $line >"$2/$i.out" 2>"$2/$i.err" </dev/null || rc=$?
                        echo $rc >"$2/$i.rc"
                done <"$3"' sh "$MDEVCTL" "$root.m" "$root.cmds"
        i=0
        while read -r line; do
                i=$((i + 1))
                rc_o=0
                # shellcheck disable=SC2086 # split on purpose
                MDEVPASID_ROOT=$root cli $line >"$TMP/o.out" 2>"$TMP/o.err" </dev/null || rc_o=$?
                rc_m=$(cat "$root.m/$i.rc")
                checks=$((checks + 1))
                if [ "$rc_m" != "$rc_o" ]; then
                        fail "$(basename "$root"): $line: mdevctl exit $rc_m, ours $rc_o ($(cat "$root.m/$i.err" "$TMP/o.err"))"
                elif ! cmp -s "$root.m/$i.out" "$TMP/o.out"; then
                        fail "$(basename "$root"): $line: stdout differs (- mdevctl, + ours)"
                        diff -u "$root.m/$i.out" "$TMP/o.out" | head -30 >&2 || true
                fi
        done <"$root.cmds"
        rm -rf "$root.m" "$root.cmds"
}

# mdevctl's start-up check wants its script directories.
scripts_dirs() {
        mkdir -p "$1/etc/mdevctl.d/scripts.d/callouts" "$1/etc/mdevctl.d/scripts.d/notifiers"
}

queue_basic() {
        for args in "list" "list -v" "list -d" "list -d -v" "list --dumpjson" "list -d --dumpjson" \
                "list -d -v --dumpjson" "types" "types --dumpjson"; do
                queue "$1" "$args"
        done
}

# 1. Generated trees (the peer kit's layouts).
python3 "$GEN" "$TMP/single" --layout single --active 12 --defined 16 --attrs 2 >/dev/null
python3 "$GEN" "$TMP/sriov" --layout sriov --active 6 --defined 4 --types-per-vf 3 --start manual >/dev/null
python3 "$GEN" "$TMP/empty" --layout single >/dev/null
rm -rf "$TMP/empty/sys/class/mdev_bus/"* "$TMP/empty/sys/devices/pci0000:00/"*
for t in single sriov empty; do
        queue_basic "$TMP/$t"
done
U_ACTIVE=a8adc09c-7476-502d-8a73-6a8971d71d75 # uuid5(URL, "mdev-0"): active and defined
U_DEFONLY=f320fa01-da6b-589d-98eb-6ff325b940fe # "mdev-12": defined only
[ -f "$TMP/single/etc/mdevctl.d/0000:00:02.0/$U_ACTIVE" ] || fail "generator changed: $U_ACTIVE not defined"
for args in "list -p 0000:00:02.0" "list -d -p 0000:00:02.0 --dumpjson" "list -p nosuch" "list -p nosuch --dumpjson" \
        "list -u $U_ACTIVE" "list -u $U_ACTIVE --dumpjson" "list -u $U_ACTIVE -v" "list -d -u $U_ACTIVE --dumpjson" \
        "list -u A8ADC09C-7476-502D-8A73-6A8971D71D75" "list -u a8adc09c7476502d8a736a8971d71d75 --dumpjson" \
        "list -u 00000000-0000-0000-0000-000000000000" "list -u 00000000-0000-0000-0000-000000000000 --dumpjson" \
        "types -p 0000:00:02.0" "types -p 0000:00:02.0 --dumpjson" "types -p nosuch" "types -p nosuch --dumpjson" \
        "list -u not-a-uuid" "list --bogus" "types -v" "list extra"; do
        queue "$TMP/single" "$args"
done
for args in "list -p 0000:41:00.1" "types -p 0000:41:00.2 --dumpjson" "list -d -u $U_ACTIVE"; do
        queue "$TMP/sriov" "$args"
done
for t in single sriov empty; do
        run "$TMP/$t"
done

# 2. Edge cases in one tree: start values, attribute order, duplicate names and quotes, a
# UUID defined under two parents, a definition whose parent is absent, an empty parent
# directory, a name that is not a UUID, type attributes with odd white space.
E=$TMP/edge
python3 "$GEN" "$E" --layout single --active 3 --defined 2 --attrs 1 >/dev/null
U0=a8adc09c-7476-502d-8a73-6a8971d71d75 U1=c45570d9-9161-52bf-ba93-5cf48998a763
U2=450be23a-fe76-56d8-b79f-420d9952afc7
C=$E/etc/mdevctl.d
printf '{\n  "mdev_type": "i915-GVTg_V5_2",\n  "start": "manual",\n  "attrs": [{"b": "x\\"y"}, {"a": "1"}, {"b": "2"}]\n}' >"$C/0000:00:02.0/$U1"
mkdir -p "$C/0000:00:03.0" "$C/emptyparent"
printf '{"mdev_type":"t3","start":"bogus"}' >"$C/0000:00:03.0/$U2"
printf '{"mdev_type":"t3","start":"auto","attrs":null,"comment":"unknown keys are dropped"}' >"$C/0000:00:03.0/$U0"
echo hello >"$C/0000:00:03.0/notauuid"
T=$E/sys/devices/pci0000:00/0000:00:02.0/mdev_supported_types
printf '  spaced name  \n' >"$T/i915-GVTg_V5_8/name"
printf '\n line1 \n\n line2\t\n\n' >"$T/i915-GVTg_V5_4/description"
rm "$T/i915-GVTg_V5_2/description"
: >"$T/i915-GVTg_V5_2/name"
queue_basic "$E"
for args in "list -u $U2" "list -u $U2 --dumpjson" "list -d -u $U2 --dumpjson" "list -d -u $U0 --dumpjson" \
        "list -d -u $U0" "list -d -u $U1 -v" "list -d -p 0000:00:03.0 --dumpjson" "list -d -p emptyparent --dumpjson"; do
        queue "$E" "$args"
done
run "$E"

# 3. A real kernel's sysfs (x86 6.12, scalable mode, the mdev sample parents) with
# definitions next to its live mdevs.
K=$TMP/kernel
unpack_fixture x86-6.12-sm "$K"
mkdir -p "$K/etc"
cp -r "$FIXTURES/cli/mdevctl.d" "$K/etc/mdevctl.d"
rm "$K/etc/mdevctl.d/mtty/0b6a8e3f-0000-4000-8000-000000000001" # malformed: see 5.
scripts_dirs "$K"
queue_basic "$K"
queue "$K" list -u 29a5d629-5236-452f-9c1b-1e3b31a976cc --dumpjson
queue "$K" types -p mtty
run "$K"

# 4. Our binary on the real paths (no MDEVPASID_ROOT) inside the same namespace agrees too.
for args in "list -d -v" "types --dumpjson"; do
        # shellcheck disable=SC2086
        sh "$IN_ROOT" "$K" "$MDEVCTL" $args >"$TMP/m.out" 2>/dev/null
        # shellcheck disable=SC2086
        sh "$IN_ROOT" "$K" "$CLI_BIN" $args >"$TMP/o.out" 2>/dev/null
        cmp -s "$TMP/m.out" "$TMP/o.out" || fail "kernel: $args without MDEVPASID_ROOT differs from mdevctl"
        checks=$((checks + 1))
done

# 5. Documented differences (mdevpasidctl --help).
# 5a. A malformed definition: mdevctl fails the whole listing (exit 1, no file named);
#     we skip that file with a warning naming it and list the rest, exactly as mdevctl
#     lists the tree without the file.
B=$TMP/broken
cp -a "$K" "$B"
printf '{ mdev_type: broken' >"$B/etc/mdevctl.d/mtty/0b6a8e3f-0000-4000-8000-000000000001"
rc=0
sh "$IN_ROOT" "$B" "$MDEVCTL" list -d >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "mdevctl list -d with a malformed definition: exit $rc (expected its failure, 1)"
rc=0
MDEVPASID_ROOT=$B cli list -d --dumpjson >"$TMP/o.out" 2>"$TMP/o.err" || rc=$?
[ "$rc" = 0 ] || fail "list -d with a malformed definition: exit $rc"
grep -q "etc/mdevctl.d/mtty/0b6a8e3f-0000-4000-8000-000000000001: skipped: not valid JSON" "$TMP/o.err" ||
        fail "the malformed definition is not named: $(cat "$TMP/o.err")"
sh "$IN_ROOT" "$K" "$MDEVCTL" list -d --dumpjson >"$TMP/m.out"
cmp -s "$TMP/m.out" "$TMP/o.out" || fail "list -d around a malformed definition differs from mdevctl without it"
checks=$((checks + 1))
# 5b. A type without available_instances: mdevctl fails `types` (exit 1, no path); we
#     leave that type out with a warning and print what mdevctl prints without it.
cp -a "$TMP/single" "$TMP/notype"
cp -a "$TMP/single" "$TMP/badtype"
rm -r "$TMP/notype/sys/devices/pci0000:00/0000:00:02.0/mdev_supported_types/i915-GVTg_V5_4"
rm "$TMP/badtype/sys/devices/pci0000:00/0000:00:02.0/mdev_supported_types/i915-GVTg_V5_4/available_instances"
rc=0
sh "$IN_ROOT" "$TMP/badtype" "$MDEVCTL" types >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "mdevctl types without available_instances: exit $rc (expected its failure, 1)"
for form in "" --dumpjson; do
        rc=0
        # shellcheck disable=SC2086
        MDEVPASID_ROOT=$TMP/badtype cli types $form >"$TMP/o.out" 2>"$TMP/o.err" || rc=$?
        [ "$rc" = 0 ] || fail "types $form without available_instances: exit $rc"
        grep -q "type i915-GVTg_V5_4 of 0000:00:02.0 left out: .*available_instances" "$TMP/o.err" ||
                fail "types $form: the broken type is not named: $(cat "$TMP/o.err")"
        # shellcheck disable=SC2086
        sh "$IN_ROOT" "$TMP/notype" "$MDEVCTL" types $form >"$TMP/m.out"
        cmp -s "$TMP/m.out" "$TMP/o.out" || fail "types $form around a broken type differs from mdevctl without it"
        checks=$((checks + 1))
done
# 5c. A definition file named with an upper-case UUID: mdevctl 1.2.0 silently ignores it;
#     we ignore it too, and say so.
U=$TMP/upper
cp -a "$TMP/single" "$U"
mv "$U/etc/mdevctl.d/0000:00:02.0/$U_DEFONLY" "$U/etc/mdevctl.d/0000:00:02.0/F320FA01-DA6B-589D-98EB-6FF325B940FE"
sh "$IN_ROOT" "$U" "$MDEVCTL" list -d >"$TMP/m.out" 2>/dev/null
MDEVPASID_ROOT=$U cli list -d >"$TMP/o.out" 2>"$TMP/o.err"
cmp -s "$TMP/m.out" "$TMP/o.out" || fail "list -d with an upper-case definition file differs from mdevctl"
if grep -qi "^$U_DEFONLY " "$TMP/o.out"; then fail "an upper-case definition file is listed"; fi
grep -q "F320FA01-DA6B-589D-98EB-6FF325B940FE: ignored" "$TMP/o.err" || fail "the upper-case file is not named"
checks=$((checks + 1))

echo "$checks comparisons with $("$MDEVCTL" --version)"
finish
