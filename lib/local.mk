# lib/: libmdevpasid, linked statically into every program and test (TESTING.md §G:
# programs are then real ELF files, not libtool wrapper scripts).
noinst_LTLIBRARIES += lib/libmdevpasid.la

lib_libmdevpasid_la_SOURCES = \
	lib/mdevpasid.h \
	lib/mdp-names.h \
	lib/ctx.h \
	lib/ctx-private.h \
	lib/ctx.c \
	lib/paths.c \
	lib/types.h \
	lib/types.c \
	lib/definition.h \
	lib/definition.c \
	lib/iommu-decode.h \
	lib/iommu-decode.c \
	lib/pci-caps.h \
	lib/pci-caps.c \
	lib/host.h \
	lib/host-internal.h \
	lib/host-util.c \
	lib/host-parents.c \
	lib/host-mdevs.c \
	lib/host-groups.c \
	lib/host-kernel.c \
	lib/host-iommu.c \
	lib/host-pci.c \
	lib/host.c \
	lib/conf.h \
	lib/conf-json.h \
	lib/conf-json.c \
	lib/profile.h \
	lib/profile.c \
	lib/mdev-backend.h \
	lib/mdev-backend.c \
	lib/bus-errors.h \
	lib/bus-errors.c \
	lib/client.h \
	lib/client.c \
	lib/state.h \
	lib/state.c \
	lib/vfio-holders.h \
	lib/vfio-holders.c \
	lib/domain-xml.h \
	lib/domain-xml.c \
	lib/policy.h \
	lib/policy.c \
	lib/util/macro.h \
	lib/util/fileio.h \
	lib/util/fileio.c \
	lib/util/hashmap.h \
	lib/util/hashmap.c \
	lib/util/json.h \
	lib/util/json.c \
	lib/util/log.h \
	lib/util/log.c \
	lib/util/parse.h \
	lib/util/parse.c \
	lib/util/strbuf.h \
	lib/util/strbuf.c \
	lib/util/uuid.h \
	lib/util/uuid.c
lib_libmdevpasid_la_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(UDEV_CFLAGS) $(JSONC_CFLAGS) $(LIBXML_CFLAGS)
lib_libmdevpasid_la_LIBADD = $(UDEV_LIBS) $(JSONC_LIBS) -ldl # libxml2 is dlopen()ed (lib/domain-xml.c)

# What programs and tests add to link against the library. libsystemd is not in the
# library's own LIBADD (libtool would pass it on to every link): mdevpasidctl links
# $(MDP_LIB_LIBS_NO_SYSTEMD) and loads libsystemd with dlopen() (cli/sd-dlopen.c).
MDP_LIB_CFLAGS = $(SYSTEMD_CFLAGS) $(UDEV_CFLAGS) $(JSONC_CFLAGS) $(LIBXML_CFLAGS)
MDP_LIB_LIBS_NO_SYSTEMD = $(top_builddir)/lib/libmdevpasid.la
MDP_LIB_LIBS = $(MDP_LIB_LIBS_NO_SYSTEMD) $(SYSTEMD_LIBS)

# Strategy engine (IOMMU-SPEC.md §6): pure, no I/O.
lib_libmdevpasid_la_SOURCES += \
	lib/engine.h \
	lib/engine-private.h \
	lib/engine-names.c \
	lib/engine.c \
	lib/engine-config.c \
	lib/engine-render.c \
	lib/plan-input.h \
	lib/plan-input.c \
	lib/snapshot.h \
	lib/snapshot.c \
	lib/plan-bus.h \
	lib/plan-bus.c \
	lib/pasid.h \
	lib/pasid.c

# The libvirt client (lib/domain-libvirt.c), kept out of libmdevpasid so the libvirt hook
# never links libvirt: libvirtd waits on the hook, a hook calling it deadlocks (ECOSYSTEM.md
# §1.4). The CLI and tests add $(MDP_VIRT_LIBS) before $(MDP_LIB_LIBS).
noinst_LTLIBRARIES += lib/libmdevpasid-virt.la
lib_libmdevpasid_virt_la_SOURCES = lib/domain-libvirt.h lib/domain-libvirt.c
lib_libmdevpasid_virt_la_CFLAGS = $(AM_CFLAGS) $(MDP_LIB_CFLAGS) $(LIBVIRT_CFLAGS)
lib_libmdevpasid_virt_la_LIBADD = -ldl # libvirt itself is dlopen()ed (lib/domain-libvirt.c)
MDP_VIRT_CFLAGS = $(LIBVIRT_CFLAGS)
MDP_VIRT_LIBS = $(top_builddir)/lib/libmdevpasid-virt.la
