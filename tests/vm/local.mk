# tests/vm: `make check-vm`, the product on a real kernel under QEMU (TESTING.md layer 7).
# tests/vm/run.sh downloads and caches Debian's 6.12 kernel and builds the mdev samples on
# first use; see the top of that script for its environment variables.

# The guest's VFIO user. Built -static from plain $(CC) without $(CFLAGS): a sanitizer
# build's flags cannot link statically, and the initramfs has no libc for it.
tests/vm/vfio-hold: $(srcdir)/tests/vm/vfio-hold.c
	@$(MKDIR_P) tests/vm
	$(AM_V_CC)$(CC) -std=gnu11 -O2 $(WARN_CFLAGS) -static -o $@ $(srcdir)/tests/vm/vfio-hold.c

# Every program this tree builds goes into the guest (dynamic, with its libraries).
check-vm: $(bin_PROGRAMS) $(sbin_PROGRAMS) tests/vm/vfio-hold
	MDP_VM_BINARIES='$(bin_PROGRAMS) $(sbin_PROGRAMS)' \
		$(SHELL) $(srcdir)/tests/vm/run.sh --builddir '$(abs_top_builddir)'

# What check-vm puts in the guest, for run.sh when it is run by hand.
print-vm-binaries:
	@echo $(bin_PROGRAMS) $(sbin_PROGRAMS)

# Optional (not in CI: a cold run installs a cross compiler and costs 2-3 minutes): arm64
# with an SMMUv3, static tools only, kernel-level cases.
check-vm-arm64:
	$(SHELL) $(srcdir)/tests/vm/run.sh --builddir '$(abs_top_builddir)' smmuv3

.PHONY: check-vm check-vm-arm64 print-vm-binaries
CLEANFILES += tests/vm/vfio-hold
EXTRA_DIST += tests/vm/README.md tests/vm/run.sh tests/vm/guest-init.sh tests/vm/guest-test.sh tests/vm/guest-product.sh \
	tests/vm/dbus-system.conf tests/vm/vfio-hold.c
