#!/bin/bash
# `make check-vm`: the product on a real kernel (TESTING.md layer 7).
#
# Boots Debian's 6.12 kernel under QEMU/TCG with an emulated Intel IOMMU, once in scalable
# mode and once in legacy mode (optionally also arm64 with an SMMUv3), with the kernel's
# mdev sample parents (mtty, mdpy, mbochs) built out of tree, and runs
# tests/vm/guest-test.sh inside against the project's real binaries. Nothing is installed into /boot or /lib/modules of this host: the kernel debs are
# only downloaded and unpacked (dpkg -x) into a cache directory keyed by the kernel version.
#
# usage: tests/vm/run.sh [--builddir DIR] [VARIANT...]
#   VARIANT: sm (x86, scalable-mode VT-d), legacy (x86, legacy VT-d), smmuv3 (arm64 with an
#   SMMUv3: static tools only, kernel-level cases); default: $MDP_VM_VARIANTS or "sm legacy"
# env:   MDP_VM_WORKDIR   cache directory (default /var/cache/mdevpasid-vm as root,
#                         else BUILDDIR/vm-work)
#        MDP_VM_TIMEOUT   seconds one boot may take before it counts as hung (default 480)
#        MDP_VM_BINARIES  programs of the build tree to put in the guest, relative to
#                         BUILDDIR (default: bin_PROGRAMS and sbin_PROGRAMS of its Makefile)
#        MDP_VM_SMP       guest CPUs (default 2)
#        MDP_VM_VARIANTS  the boots when none is named (default "sm legacy")
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
        sm | legacy | smmuv3) VARIANTS+=("$1"); shift ;;
        *) echo "vm: unknown argument '$1' (usage: run.sh [--builddir DIR] [sm|legacy|smmuv3]...)" >&2; exit 2 ;;
        esac
done
[ ${#VARIANTS[@]} -gt 0 ] || read -r -a VARIANTS <<<"${MDP_VM_VARIANTS:-sm legacy}"
BUILD=${BUILD:-$SRC/build}
[ -f "$BUILD/Makefile" ] || { echo "vm: $BUILD is not a configured build directory; configure and build first (or pass --builddir)" >&2; exit 2; }
if [ -z "${MDP_VM_BINARIES+set}" ]; then
        make -s --no-print-directory -C "$BUILD" Makefile >/dev/null
        MDP_VM_BINARIES=$(make -s --no-print-directory -C "$BUILD" print-vm-binaries)
        # shellcheck disable=SC2086
        make -s --no-print-directory -C "$BUILD" $MDP_VM_BINARIES tests/vm/vfio-hold ||
                { echo "vm: building $MDP_VM_BINARIES tests/vm/vfio-hold in $BUILD failed" >&2; exit 1; }
fi

if [ -n "${MDP_VM_WORKDIR:-}" ]; then
        W=$MDP_VM_WORKDIR
elif [ "$(id -u)" = 0 ]; then
        W=/var/cache/mdevpasid-vm
else
        W=$BUILD/vm-work
fi
OUT=$BUILD/tests/vm/out          # this run's initramfs and serial logs
TIMEOUT=${MDP_VM_TIMEOUT:-480}
SMP=${MDP_VM_SMP:-2}
# Bump when the way the cached kernel tree or the modules are made changes.
RECIPE=1

SECONDS=0
step() { printf '=== [%4ss] vm: %s\n' "$SECONDS" "$*"; }
die() { echo "vm: error: $*" >&2; exit 1; }

# --- host tools -----------------------------------------------------------------------
variant_arch() {
        case $1 in
        sm | legacy) echo amd64 ;;
        smmuv3) echo arm64 ;;
        esac
}
ARCHES=()
for v in "${VARIANTS[@]}"; do
        a=$(variant_arch "$v")
        [[ " ${ARCHES[*]} " == *" $a "* ]] || ARCHES+=("$a")
done

step "host packages"
pkgs=("${MDP_PACKAGES[@]}" "${MDP_VM_PACKAGES[@]}")
[[ " ${ARCHES[*]} " != *" arm64 "* ]] || pkgs+=("${MDP_VM_ARM64_PACKAGES[@]}")
mdp_install_packages "${pkgs[@]}" ||
        die "installing the packages of MDP_PACKAGES/MDP_VM_PACKAGES (tests/setup.sh) failed; check that apt-get works (apt-get update, the sources in /etc/apt)"

mkdir -p "$W" "$OUT"
W=$(cd "$W" && pwd)

# apt for the guest's architecture. arm64 uses package lists of its own under $W, so this
# host's dpkg architectures stay as they are.
ARM_APT=(-o "Dir::State::Lists=$W/apt-arm64/lists" -o "Dir::State::status=$W/apt-arm64/status"
        -o "Dir::Cache=$W/apt-arm64/cache" -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
apt_get() {
        local arch=$1
        shift
        if [ "$arch" = arm64 ]; then
                mkdir -p "$W/apt-arm64/lists/partial" "$W/apt-arm64/cache/archives/partial"
                touch "$W/apt-arm64/status"
                apt-get "${ARM_APT[@]}" "$@"
        else
                apt-get "$@"
        fi
}
apt_cache() {
        local arch=$1
        shift
        if [ "$arch" = arm64 ]; then apt-cache "${ARM_APT[@]}" "$@"; else apt-cache "$@"; fi
}

# --- the kernel: resolve, download, unpack, build the mdev modules (cached) -------------
# The image, headers and samples must come from one ABI; old ABIs leave the archive when a
# new one comes, so resolve it through the metapackage every time instead of pinning it.
# resolve ARCH: sets KV (ABI), KBV, KVER_DEB (package version), K (cache dir) and STAMP.
resolve() {
        KV=$(apt_cache "$1" depends "linux-image-6.12-$1" 2>/dev/null |
                awk '/Depends: linux-image-6/ { sub("linux-image-", "", $2); print $2; exit }') || KV=
        KBV=${KV%-"$1"}
        KVER_DEB=
        [ -z "$KV" ] || KVER_DEB=$(apt_cache "$1" show "linux-image-$KV" 2>/dev/null | awk '/^Version:/ { print $2; exit }') || KVER_DEB=
        K=$W/kernel-$KV
        STAMP="recipe=$RECIPE deb=$KVER_DEB"
}
cache_ready() { [ -n "$KVER_DEB" ] && [ "$(cat "$K/ready" 2>/dev/null)" = "$STAMP" ]; }

# download ARCH DIR PACKAGE...
download() {
        local arch=$1 dir=$2 p
        shift 2
        for p in "$@"; do
                step "download ${p%%=*} ($arch)"
                (cd "$dir" && apt_get "$arch" download -q=2 "$p" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' >&2; exit "${PIPESTATUS[0]}") ||
                        die "'apt-get download $p' for $arch failed (run in $dir); check the network, 'apt-get update', and that bookworm-security is in /etc/apt/sources.list*"
        done
}

# prepare ARCH: the kernel image and modules of KV, with mtty, mdpy and mbochs (and, on
# arm64, whose Debian kernel has no CONFIG_VFIO_MDEV, mdev itself) built out of tree.
prepare() {
        local arch=$1 debs=$W/debs p d hd src=$K/mdev
        local cross=()
        rm -rf "$K" "$debs"
        mkdir -p "$debs" "$K/root" "$src"
        # linux-source is built from the same source package, so it has the image's
        # version; the -common headers and kbuild (host tools) are the build host's.
        [ "$arch" = arm64 ] && download arm64 "$debs" busybox-static
        download "$arch" "$debs" "linux-image-$KV" "linux-headers-$KV"
        download amd64 "$debs" "linux-headers-$KBV-common" "linux-kbuild-$KBV" "linux-source-6.12=$KVER_DEB"
        step "unpack the kernel debs"
        for d in "$debs"/linux-image-*.deb "$debs"/linux-headers-*.deb "$debs"/linux-kbuild-*.deb; do
                dpkg -x "$d" "$K/root" || die "'dpkg -x $d $K/root' failed (disk full?)"
        done
        if [ "$arch" = arm64 ]; then
                dpkg -x "$debs"/busybox-static_*.deb "$K/busybox" || die "'dpkg -x' of busybox-static (arm64) failed"
        fi
        hd=$K/root/usr/src/linux-headers-$KV
        [ -f "$hd/Makefile" ] || die "$hd/Makefile is missing after unpacking linux-headers-$KV"
        # The arch headers include the -common tree by its absolute installed path.
        sed -i "s|/usr/src/|$K/root/usr/src/|" "$hd/Makefile"
        [ -f "$K/root/boot/vmlinuz-$KV" ] || die "linux-image-$KV has no /boot/vmlinuz-$KV"

        step "extract the mdev sources from linux-source-6.12"
        dpkg-deb --fsys-tarfile "$debs"/linux-source-6.12_*.deb |
                tar -xO ./usr/src/linux-source-6.12.tar.xz |
                tar -xJ -C "$src" --strip-components=1 --wildcards \
                        'linux-source-6.12/samples/vfio-mdev/*' 'linux-source-6.12/drivers/vfio/mdev/*' ||
                die "extracting samples/vfio-mdev and drivers/vfio/mdev from $(echo "$debs"/linux-source-6.12_*.deb) failed"
        mkdir -p "$src/build"
        for p in samples/vfio-mdev/{mtty.c,mdpy.c,mbochs.c,mdpy-defs.h}; do
                [ -f "$src/$p" ] || die "linux-source-6.12 has no $p"
                cp "$src/$p" "$src/build/"
        done
        if [ "$arch" = arm64 ]; then
                cp "$src"/drivers/vfio/mdev/*.[ch] "$src/build/"
                printf 'mdev-y := mdev_core.o mdev_sysfs.o mdev_driver.o\nobj-m := mdev.o mtty.o mdpy.o mbochs.o\n' >"$src/build/Kbuild"
                cross=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
        else
                echo 'obj-m := mtty.o mdpy.o mbochs.o' >"$src/build/Kbuild"
        fi

        step "build the mdev modules against linux-headers-$KV"
        make -s -C "$hd" M="$src/build" "${cross[@]}" -j"$(nproc)" modules >"$src/build.log" 2>&1 || {
                cat "$src/build.log" >&2
                die "building the mdev modules failed (log above, also in $src/build.log)"
        }
        mkdir -p "$K/root/lib/modules/$KV/extra"
        cp "$src"/build/*.ko "$K/root/lib/modules/$KV/extra/"
        depmod -b "$K/root" "$KV" || die "'depmod -b $K/root $KV' failed"
        # The debs, sources and headers are not needed any more: keep the cache small.
        rm -rf "$debs" "$src" "$K/root/usr/src" "$K/root/usr/lib/linux-kbuild-"*
        echo "$STAMP" >"$K/ready"
}

# One run at a time per work directory: a preparation replaces the tree a boot reads.
exec 9>"$W/lock"
flock 9
declare -A KV_OF K_OF
for arch in "${ARCHES[@]}"; do
        step "resolve the kernel ($arch)"
        resolve "$arch"
        if ! cache_ready; then
                # About to download: make sure the package lists name what the archive has now.
                apt_get "$arch" -o DPkg::Lock::Timeout=300 update -qq ||
                        die "'apt-get update' ($arch) failed; check the network and /etc/apt/sources.list*"
                resolve "$arch"
        fi
        [ -n "$KV" ] || die "'apt-cache depends linux-image-6.12-$arch' names no linux-image-6.12.* package; the 6.12 kernel comes from bookworm-security: check that it is in /etc/apt/sources.list*"
        [ -n "$KVER_DEB" ] || die "'apt-cache show linux-image-$KV' gives no version"
        echo "vm: kernel $KV (Debian $KVER_DEB), work directory $W"
        if ! cache_ready; then
                prepare "$arch"
                # Kernel trees of older ABIs are never used again.
                for d in "$W"/kernel-*-"$arch"; do
                        [ "$d" = "$K" ] || rm -rf "$d"
                done
        else
                step "cached kernel tree $K"
        fi
        KV_OF[$arch]=$KV
        K_OF[$arch]=$K
done

# --- the initramfs ----------------------------------------------------------------------
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

# initramfs ARCH: $OUT/initrd-ARCH.gz.
initramfs() {
        local arch=$1 mods ko rel MD
        local KV=${KV_OF[$arch]} K=${K_OF[$arch]}
        step "initramfs ($arch)"
        ST=$OUT/initramfs-$arch
        rm -rf "$ST"
        mkdir -p "$ST"/{bin,sbin,usr/bin,usr/sbin,lib,etc,proc,sys,dev,run,tmp,var/lib,root}
        cp "$HERE/guest-init.sh" "$ST/init"
        cp "$HERE/guest-test.sh" "$ST/guest-test.sh"
        cp "$HERE/guest-product.sh" "$ST/guest-product.sh"
        chmod 0755 "$ST/init" "$ST/guest-test.sh"
        printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ST/etc/passwd"
        printf 'root:x:0:\n' >"$ST/etc/group"

        if [ "$arch" = arm64 ]; then
                # Only static programs: no arm64 userland on this host (TESTING.md layer 7 §6).
                cp "$K/busybox/bin/busybox" "$ST/bin/busybox"
                aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Werror -static -o "$ST/bin/vfio-hold" "$HERE/vfio-hold.c" ||
                        die "cross-building vfio-hold for arm64 failed"
        else
                cp /bin/busybox "$ST/bin/busybox"
                cp "$HERE/dbus-system.conf" "$ST/etc/dbus-system.conf"
                copy_bin "$(command -v dbus-daemon)"
                copy_bin "$(command -v dbus-send)"
                copy_bin "$(command -v udevadm)"
                ln -s udevadm "$ST/bin/systemd-udevd" # udevadm runs as the daemon under that name
                copy_bin "$(command -v busctl)"
                copy_bin "$(command -v jq)"
                # Debian's mdevctl, the peer whose definition files the daemon shares (its
                # udev rule is left out: the guest test decides who starts what).
                copy_bin "$(command -v mdevctl)"
                mkdir -p "$ST/etc/mdevctl.d/scripts.d/callouts" "$ST/etc/mdevctl.d/scripts.d/notifiers"
                copy_bin "$BUILD/tests/vm/vfio-hold"
                for b in ${MDP_VM_BINARIES:-}; do
                        copy_bin "$BUILD/$b"
                done
                # The project's data (conf/: D-Bus contract, vendor profiles) and its bus
                # policy (any <busconfig> file of conf/ or systemd/), when the tree has them.
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
                if [ -f "$SRC/conf/mdevpasid.conf" ]; then
                        mkdir -p "$ST/etc/mdevpasid"
                        cp "$SRC/conf/mdevpasid.conf" "$ST/etc/mdevpasid/"
                fi
        fi

        # Modules: the closure the guest needs, decompressed (busybox cannot read .ko.xz),
        # at their tree paths, with a modules.dep made here so busybox modprobe resolves the
        # order itself.
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

        (cd "$ST" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd-$arch.gz"
        echo "vm: initramfs $(du -h "$OUT/initrd-$arch.gz" | cut -f1), modules: $(for ko in $mods; do basename "${ko%.xz}" .ko; done | tr '\n' ' ')"
        echo "vm: guest programs: $(cd "$ST" && ls bin usr/bin 2>/dev/null | grep -v -e busybox -e '^bin$' -e '^usr' -e ':$' | tr '\n' ' ')"
}
for arch in "${ARCHES[@]}"; do
        initramfs "$arch"
done

# --- boots ------------------------------------------------------------------------------
total_pass=0
total_fail=0
bad=0
boot() {
        local variant=$1 arch log t0 marker np nf qemu
        arch=$(variant_arch "$variant")
        local KV=${KV_OF[$arch]} K=${K_OF[$arch]}
        # iomem=relaxed lets the guest read the IOMMU registers through /dev/mem;
        # panic=-1 with -no-reboot turns a guest panic into a QEMU exit.
        local append="panic=-1 quiet iomem=relaxed mdp.variant=$variant mdp.verbose=${MDP_VM_VERBOSE:-0}"
        case $variant in
        sm | legacy)
                local iommu=intel-iommu,intremap=on,x-scalable-mode=on
                [ "$variant" = legacy ] && iommu=intel-iommu,intremap=on
                qemu=(qemu-system-x86_64 -machine q35,kernel-irqchip=split -cpu max -vga none
                        -device "$iommu" -device edu)
                append="console=ttyS0 intel_iommu=on,sm_on $append"
                ;;
        smmuv3)
                qemu=(qemu-system-aarch64 -machine virt,iommu=smmuv3 -cpu max,pauth-impdef=on -device edu)
                append="console=ttyAMA0 $append"
                ;;
        esac
        log=$OUT/boot-$variant.log
        rm -f "$log" "$OUT/failures-$variant.txt"
        step "boot $variant (${qemu[*]:1}), timeout ${TIMEOUT}s"
        t0=$SECONDS
        timeout --foreground -k 10 "$TIMEOUT" "${qemu[@]}" -accel tcg -smp "$SMP" -m 1024 \
                -nographic -no-reboot -nic none \
                -kernel "$K/root/boot/vmlinuz-$KV" -initrd "$OUT/initrd-$arch.gz" -append "$append" \
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
