#!/bin/bash
# `make check-vm`: the product on a real kernel (TESTING.md layer 7).
#
# Boots Debian's 6.12 kernel under QEMU/TCG with an emulated Intel IOMMU, once in scalable
# mode and once in legacy mode, with the kernel's mdev sample parents (mtty, mdpy, mbochs)
# built out of tree, and runs tests/vm/guest-test.sh inside against the project's real
# binaries. Nothing is installed into /boot or /lib/modules of this host: the kernel debs are
# only downloaded and unpacked (dpkg -x) into a cache directory keyed by the kernel version.
#
# usage: tests/vm/run.sh [--builddir DIR] [VARIANT...]     (VARIANT: sm, legacy; default both)
# env:   MDP_VM_WORKDIR   cache directory (default /var/cache/mdevpasid-vm as root,
#                         else BUILDDIR/vm-work)
#        MDP_VM_TIMEOUT   seconds one boot may take before it counts as hung (default 300)
#        MDP_VM_BINARIES  programs of the build tree to put in the guest, relative to
#                         BUILDDIR (set by `make check-vm` from bin_PROGRAMS/sbin_PROGRAMS)
#        MDP_VM_SMP       guest CPUs (default 2)
#        MDP_VM_VERBOSE   1: the guest prints the diagnostics of passing cases too
# The last line is "vm: N passed, N failed" summed over the boots; the exit code is 0 only
# when every boot printed its result marker and no case failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../setup.sh
source "$HERE/../setup.sh"
SRC=$MDP_TOP

BUILD=
VARIANTS=()
while [ $# -gt 0 ]; do
        case $1 in
        --builddir) BUILD=$(cd "$2" && pwd); shift 2 ;;
        --builddir=*) BUILD=$(cd "${1#*=}" && pwd); shift ;;
        sm | legacy) VARIANTS+=("$1"); shift ;;
        *) echo "vm: unknown argument '$1' (usage: run.sh [--builddir DIR] [sm|legacy]...)" >&2; exit 2 ;;
        esac
done
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(sm legacy)
BUILD=${BUILD:-$SRC/build}
[ -d "$BUILD" ] || { echo "vm: build directory $BUILD does not exist; configure and build first (or pass --builddir)" >&2; exit 2; }

if [ -n "${MDP_VM_WORKDIR:-}" ]; then
        W=$MDP_VM_WORKDIR
elif [ "$(id -u)" = 0 ]; then
        W=/var/cache/mdevpasid-vm
else
        W=$BUILD/vm-work
fi
OUT=$BUILD/tests/vm/out          # this run's initramfs and serial logs
TIMEOUT=${MDP_VM_TIMEOUT:-300}
SMP=${MDP_VM_SMP:-2}
# Bump when the way the cached kernel tree or the modules are made changes.
RECIPE=1

SECONDS=0
step() { printf '=== [%4ss] vm: %s\n' "$SECONDS" "$*"; }
die() { echo "vm: error: $*" >&2; exit 1; }

# --- host tools -----------------------------------------------------------------------
step "host packages"
mdp_install_packages "${MDP_PACKAGES[@]}" "${MDP_VM_PACKAGES[@]}" ||
        die "installing the packages of MDP_PACKAGES/MDP_VM_PACKAGES (tests/setup.sh) failed; check that apt-get works (apt-get update, the sources in /etc/apt)"

mkdir -p "$W" "$OUT"
W=$(cd "$W" && pwd)

# --- the kernel: resolve, download, unpack, build the mdev samples (cached) -------------
# The image, headers and samples must come from one ABI; old ABIs leave the archive when a
# new one comes, so resolve it through the metapackage every time instead of pinning it.
resolve_kernel() {
        apt-cache depends linux-image-6.12-amd64 2>/dev/null |
                awk '/Depends: linux-image-6/ { sub("linux-image-", "", $2); print $2; exit }'
}
# resolve: sets KV (ABI), KBV, KVER_DEB (package version), K (cache dir) and STAMP.
resolve() {
        KV=$(resolve_kernel)
        KBV=${KV%-amd64}
        KVER_DEB=
        [ -z "$KV" ] || KVER_DEB=$(apt-cache show "linux-image-$KV" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
        K=$W/kernel-$KV
        STAMP="recipe=$RECIPE deb=$KVER_DEB"
}
cache_ready() { [ -n "$KVER_DEB" ] && [ "$(cat "$K/ready" 2>/dev/null)" = "$STAMP" ]; }

step "resolve the kernel"
resolve
if ! cache_ready; then
        # About to download: make sure the package lists name what the archive has now.
        apt-get -o DPkg::Lock::Timeout=300 update -qq ||
                die "'apt-get update' failed; check the network and /etc/apt/sources.list*"
        resolve
fi
[ -n "$KV" ] || die "'apt-cache depends linux-image-6.12-amd64' names no linux-image-6.12.* package; the 6.12 kernel comes from bookworm-security: check that it is in /etc/apt/sources.list*"
[ -n "$KVER_DEB" ] || die "'apt-cache show linux-image-$KV' gives no version"
echo "vm: kernel $KV (Debian $KVER_DEB), work directory $W"

prepare_kernel() {
        local debs=$W/debs p d hd
        rm -rf "$K" "$debs"
        mkdir -p "$debs" "$K/root" "$K/samples"
        # linux-source is built from the same source package, so it has the image's version.
        for p in "linux-image-$KV" "linux-headers-$KV" "linux-headers-$KBV-common" \
                "linux-kbuild-$KBV" "linux-source-6.12=$KVER_DEB"; do
                step "download ${p%%=*}"
                (cd "$debs" && apt-get download -q=2 "$p" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' >&2; exit "${PIPESTATUS[0]}") ||
                        die "'apt-get download $p' failed (run in $debs); check the network, 'apt-get update', and that bookworm-security is in /etc/apt/sources.list*"
        done
        step "unpack the kernel debs"
        for d in "$debs"/linux-image-*.deb "$debs"/linux-headers-*.deb "$debs"/linux-kbuild-*.deb; do
                dpkg -x "$d" "$K/root" || die "'dpkg -x $d $K/root' failed (disk full?)"
        done
        hd=$K/root/usr/src/linux-headers-$KV
        [ -f "$hd/Makefile" ] || die "$hd/Makefile is missing after unpacking linux-headers-$KV"
        # The arch headers include the -common tree by its absolute installed path.
        sed -i "s|/usr/src/|$K/root/usr/src/|" "$hd/Makefile"
        [ -f "$K/root/boot/vmlinuz-$KV" ] || die "linux-image-$KV has no /boot/vmlinuz-$KV"

        step "extract samples/vfio-mdev from linux-source-6.12"
        dpkg-deb --fsys-tarfile "$debs"/linux-source-6.12_*.deb |
                tar -xO ./usr/src/linux-source-6.12.tar.xz |
                tar -xJ -C "$K/samples" --strip-components=3 --wildcards 'linux-source-6.12/samples/vfio-mdev/*' ||
                die "extracting samples/vfio-mdev from $(echo "$debs"/linux-source-6.12_*.deb) failed"
        for p in mtty mdpy mbochs; do
                [ -f "$K/samples/$p.c" ] || die "linux-source-6.12 has no samples/vfio-mdev/$p.c"
        done
        echo 'obj-m := mtty.o mdpy.o mbochs.o' >"$K/samples/Kbuild"

        step "build mtty, mdpy, mbochs against linux-headers-$KV"
        make -s -C "$hd" M="$K/samples" -j"$(nproc)" modules >"$K/samples/build.log" 2>&1 || {
                cat "$K/samples/build.log" >&2
                die "building the mdev samples failed (log above, also in $K/samples/build.log)"
        }
        mkdir -p "$K/root/lib/modules/$KV/extra"
        cp "$K/samples"/{mtty,mdpy,mbochs}.ko "$K/root/lib/modules/$KV/extra/"
        depmod -b "$K/root" "$KV" || die "'depmod -b $K/root $KV' failed"
        # The debs and the headers are not needed any more: keep the cache small.
        rm -rf "$debs" "$K/root/usr/src" "$K/root/usr/lib/linux-kbuild-"*
        echo "$STAMP" >"$K/ready"
}

# One run at a time per work directory: a preparation replaces the tree a boot reads.
exec 9>"$W/lock"
flock 9
if ! cache_ready; then
        prepare_kernel
        # Kernel trees of older ABIs are never used again.
        for d in "$W"/kernel-*; do
                [ "$d" = "$K" ] || rm -rf "$d"
        done
else
        step "cached kernel tree $K"
fi

# --- the initramfs ----------------------------------------------------------------------
step "initramfs"
ST=$OUT/initramfs
rm -rf "$ST"
mkdir -p "$ST"/{bin,sbin,usr/bin,usr/sbin,lib,etc,proc,sys,dev,run,tmp,var/lib,root}
cp /bin/busybox "$ST/bin/busybox"
cp "$HERE/guest-init.sh" "$ST/init"
cp "$HERE/guest-test.sh" "$ST/guest-test.sh"
cp "$HERE/dbus-system.conf" "$ST/etc/dbus-system.conf"
chmod 0755 "$ST/init" "$ST/guest-test.sh"

# copy_bin SRC [DEST]: a program and, when dynamic, the libraries ldd resolves for it.
copy_bin() {
        local src=$1 dest=${2:-/bin/$(basename "$1")} lib
        [ -x "$src" ] || die "$src is missing (build it first)"
        mkdir -p "$ST$(dirname "$dest")"
        cp -L "$src" "$ST$dest"
        if ldd "$src" >/dev/null 2>&1; then
                for lib in $(ldd "$src" | grep -oE '/[^ ]+'); do
                        [ -e "$ST$lib" ] && continue
                        mkdir -p "$ST$(dirname "$lib")"
                        cp -L "$lib" "$ST$lib"
                done
        fi
}
copy_bin "$(command -v dbus-daemon)"
copy_bin "$(command -v dbus-send)"
copy_bin "$(command -v udevadm)"
ln -s udevadm "$ST/bin/systemd-udevd"   # udevadm runs as the daemon under that name
copy_bin "$(command -v busctl)"
copy_bin "$(command -v jq)"
# Debian's mdevctl, the peer whose definition files the daemon shares (its udev rule is
# left out: the guest test decides who starts what).
copy_bin "$(command -v mdevctl)"
mkdir -p "$ST/etc/mdevctl.d/scripts.d/callouts" "$ST/etc/mdevctl.d/scripts.d/notifiers"
copy_bin "$BUILD/tests/vm/vfio-hold"
for b in ${MDP_VM_BINARIES:-}; do
        copy_bin "$BUILD/$b"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ST/etc/passwd"
printf 'root:x:0:\n' >"$ST/etc/group"
# The project's data (conf/: D-Bus contract, vendor profiles) and its bus policy (any
# <busconfig> file of conf/ or systemd/), when the tree has them.
mkdir -p "$ST/usr/share/mdevpasid" "$ST/etc/dbus-1/system.d"
for f in "$SRC"/conf/*; do
        case $f in
        *.mk | *.conf) ;;
        *) [ -e "$f" ] && cp -r "$f" "$ST/usr/share/mdevpasid/" ;;
        esac
done
for f in "$SRC"/conf/* "$SRC"/systemd/*; do
        [ -f "$f" ] && grep -q '<busconfig' "$f" && cp "$f" "$ST/etc/dbus-1/system.d/"
done

# Modules: the closure the guest needs, decompressed (busybox cannot read .ko.xz), at their
# tree paths, with a modules.dep made here so busybox modprobe resolves the order itself.
MODS="vfio_iommu_type1 mtty mdpy mbochs"
MD=$ST/lib/modules/$KV
mkdir -p "$MD"
mods=$(modprobe -d "$K/root" -S "$KV" --show-depends -a $MODS | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++') ||
        die "'modprobe -d $K/root -S $KV --show-depends -a $MODS' failed"
[ -n "$mods" ] || die "no modules resolved for $MODS in $K/root"
for ko in $mods; do
        rel=${ko#"$K/root/lib/modules/$KV/"}
        rel=${rel%.xz}
        mkdir -p "$(dirname "$MD/$rel")"
        case $ko in
        *.xz) xz -dc "$ko" >"$MD/$rel" ;;
        *) cp "$ko" "$MD/$rel" ;;
        esac
done
cp "$K/root/lib/modules/$KV"/modules.{builtin,builtin.modinfo,order} "$MD/" 2>/dev/null || true
depmod -b "$ST" "$KV" || die "'depmod -b $ST $KV' failed"

(cd "$ST" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.gz"
echo "vm: initramfs $(du -h "$OUT/initrd.gz" | cut -f1), modules: $(for ko in $mods; do basename "${ko%.xz}" .ko; done | tr '\n' ' ')"
echo "vm: guest programs: $(cd "$ST" && ls bin usr/bin 2>/dev/null | grep -v -e busybox -e '^bin$' -e '^usr' -e ':$' | tr '\n' ' ')"

# --- boots ------------------------------------------------------------------------------
total_pass=0
total_fail=0
bad=0
boot() {
        local variant=$1 iommu log t0 marker np nf
        case $variant in
        sm) iommu=intel-iommu,intremap=on,x-scalable-mode=on ;;
        legacy) iommu=intel-iommu,intremap=on ;;
        esac
        log=$OUT/boot-$variant.log
        rm -f "$log" "$OUT/failures-$variant.txt"
        step "boot $variant (-device $iommu), timeout ${TIMEOUT}s"
        t0=$SECONDS
        # iomem=relaxed lets the guest read the VT-d registers through /dev/mem;
        # panic=-1 with -no-reboot turns a guest panic into a QEMU exit.
        timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
                -machine q35,kernel-irqchip=split -accel tcg -cpu max -smp "$SMP" -m 1024 \
                -nographic -no-reboot -vga none -nic none \
                -device "$iommu" -device edu \
                -kernel "$K/root/boot/vmlinuz-$KV" -initrd "$OUT/initrd.gz" \
                -append "console=ttyS0 intel_iommu=on,sm_on panic=-1 quiet iomem=relaxed mdp.variant=$variant mdp.verbose=${MDP_VM_VERBOSE:-0}" \
                </dev/null 2>&1 | tr -d '\r' >"$log" || true
        # QEMU exits 0 after the guest's poweroff whatever happened in it: only the
        # marker tells that the guest test ran to its end.
        if [ "${MDP_VM_VERBOSE:-0}" = 1 ]; then
                grep -E '^(PASS|FAIL|SKIP) |^  # ' "$log" || true
        else
                grep -E '^(PASS|FAIL|SKIP) ' "$log" || true
        fi
        marker=$(grep -E '^MDP-VM-RESULT ' "$log" | tail -1 || true)
        if [ -z "$marker" ]; then
                echo "vm: $variant: no result marker after $((SECONDS - t0))s (hung, panicked or crashed; timeout ${TIMEOUT}s); last lines of $log:"
                tail -25 "$log" | sed 's/^/    /'
                bad=1
                total_fail=$((total_fail + 1))
                return
        fi
        np=$(echo "$marker" | sed -n 's/.* passed=\([0-9]*\).*/\1/p')
        nf=$(echo "$marker" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
        total_pass=$((total_pass + np))
        total_fail=$((total_fail + nf))
        echo "vm: $variant: $np passed, $nf failed in $((SECONDS - t0))s (serial log $log)"
        if [ "$nf" != 0 ] || [ "$np" = 0 ]; then
                bad=1
                echo "vm: $variant: failing cases:"
                grep -E '^FAIL ' "$log" | sed 's/^/    /'
                # Each failing case's diagnostics follow its line as "  # ..." lines.
                awk '/^FAIL /{p=1; print "    " $0; next} /^(PASS|SKIP) /{p=0} p && /^  # /{print "    " $0}' "$log" >"$OUT/failures-$variant.txt"
                echo "vm: $variant: diagnostics in $OUT/failures-$variant.txt"
        fi
}
for v in "${VARIANTS[@]}"; do
        boot "$v"
done
step "done"
echo "vm: $total_pass passed, $total_fail failed"
exit "$bad"
