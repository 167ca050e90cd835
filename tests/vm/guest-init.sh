#!/bin/busybox sh
# /init of the check-vm initramfs (tests/vm/run.sh): the base mounts, then the guest test,
# then poweroff. The test prints the result marker; a missing marker fails the host side.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb SYSTEMD_PAGER=cat SYSTEMD_COLORS=0
# The project's shipped data (vendor profiles) as run.sh laid it out.
export MDEVPASID_DATADIR=/usr/share/mdevpasid
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# Keep kernel messages off the console so the case lines stay whole; dmesg keeps them.
dmesg -n 1
/guest-test.sh
echo "guest-init: guest-test.sh exited with $?"
sync
poweroff -f
