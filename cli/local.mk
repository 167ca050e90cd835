# cli: fragment included by the top-level Makefile.am
bin_PROGRAMS += cli/mdevpasidctl
cli_mdevpasidctl_SOURCES = \
	cli/mdevpasidctl.c \
	cli/verbs.h \
	cli/output.h \
	cli/output.c \
	cli/source.h \
	cli/source.c \
	cli/source-sysfs.c \
	cli/source-dbus.c \
	cli/mdevctl-format.h \
	cli/mdevctl-format.c \
	cli/verb-list.c \
	cli/verb-host.c \
	cli/plan.h \
	cli/verb-plan.c \
	cli/verb-mdev.c \
	cli/verb-status.c \
	cli/verb-monitor.c \
	cli/verb-vm.c \
	cli/sd-dlopen.h \
	cli/sd-dlopen.c
cli_mdevpasidctl_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) $(MDP_VIRT_CFLAGS)
# No -lsystemd: cli/sd-dlopen.c loads it when the bus is used (an sd_* function it does not
# define is a link error here). libdl is in libc since glibc 2.34; -ldl for older ones.
cli_mdevpasidctl_LDADD = $(MDP_VIRT_LIBS) $(MDP_LIB_LIBS_NO_SYSTEMD) -ldl

# The libvirt qemu hook (issue 7): a real binary in $(pkglibexecdir), linked into libvirt's
# qemu.d by `make install` (libvirt runs every executable there, ECOSYSTEM.md §1.1). It links
# libmdevpasid only, never libvirt: libvirtd waits on its hooks (§1.4).
pkglibexec_PROGRAMS += cli/mdevpasid-libvirt-hook
cli_mdevpasid_libvirt_hook_SOURCES = cli/mdevpasid-libvirt-hook.c
cli_mdevpasid_libvirt_hook_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS)
cli_mdevpasid_libvirt_hook_LDADD = $(MDP_LIB_LIBS)

install-exec-hook: install-libvirt-hook-link
uninstall-hook: uninstall-libvirt-hook-link
install-libvirt-hook-link:
	$(MKDIR_P) '$(DESTDIR)$(libvirthookdir)'
	ln -sf '$(pkglibexecdir)/mdevpasid-libvirt-hook' '$(DESTDIR)$(libvirthookdir)/mdevpasid'
uninstall-libvirt-hook-link:
	rm -f '$(DESTDIR)$(libvirthookdir)/mdevpasid'
.PHONY: install-libvirt-hook-link uninstall-libvirt-hook-link
