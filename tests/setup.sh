#!/bin/bash
# Sets up a fresh Debian 12 machine (as root) to build and test mdevpasid: installs the
# Debian packages that are missing, bootstraps autotools and builds into build/.
# Sourced by tests/demo.sh and tests/check-all.sh; safe to run again (it skips what is done).
set -euo pipefail

MDP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# Build and test dependencies; one list for every entry point.
MDP_PACKAGES=(
        build-essential autoconf automake libtool pkg-config
        libsystemd-dev libudev-dev libjson-c-dev libvirt-dev libxml2-dev libxml2-utils
        check umockdev libumockdev-dev dbus systemd udev valgrind python3
        mdevctl util-linux groff-base man-db
)

# `make fuzz` and check-all's fuzz step (tests/fuzz/run.sh): clang 14 and its runtime
# libraries, where libFuzzer (libclang_rt.fuzzer) lives.
MDP_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

# `make check-vm` (tests/vm/run.sh): QEMU, the initramfs tools, and what an out-of-tree
# module build against Debian's unpacked linux-kbuild needs. jq reads the CLI's JSON in
# the guest.
MDP_VM_PACKAGES=(
        qemu-system-x86 busybox-static kmod cpio xz-utils
        pahole libelf1 libssl3 zlib1g libc6-dev jq
)
# Only for the optional arm64 boot (tests/vm/run.sh smmuv3): QEMU and a cross compiler
# for mdev.ko, the samples and the static VFIO helper.
MDP_VM_ARM64_PACKAGES=(
        qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
)

mdp_install_packages() {
        local missing=() p
        for p in "$@"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        if [ "$(id -u)" != 0 ]; then
                echo "setup: missing Debian packages: ${missing[*]}; run as root to install them" >&2
                return 1
        fi
        echo "setup: installing ${missing[*]}" >&2
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

mdp_bootstrap() {
        if [ ! -x "$MDP_TOP/configure" ] || [ "$MDP_TOP/configure.ac" -nt "$MDP_TOP/configure" ]; then
                (cd "$MDP_TOP" && ./autogen.sh >/dev/null)
        fi
}

# mdp_build DIR [configure args...]: configure once, then make.
mdp_build() {
        local dir=$1
        shift
        mkdir -p "$MDP_TOP/$dir"
        if [ ! -f "$MDP_TOP/$dir/Makefile" ]; then
                (cd "$MDP_TOP/$dir" && ../configure -q --enable-werror "$@")
        fi
        make -C "$MDP_TOP/$dir" -j"$(nproc)" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
        mdp_install_packages "${MDP_PACKAGES[@]}"
        mdp_bootstrap
        mdp_build build
        echo "setup: built in $MDP_TOP/build"
fi
