# tests/sim/: the built-in simulated host (README.md there). Built by "make", not only by
# "make check": the README demo runs it.

noinst_PROGRAMS += tests/sim/mdp-kernel-sim
tests_sim_mdp_kernel_sim_SOURCES = \
	tests/sim/mdp-kernel-sim.c \
	tests/sim/sim.h \
	tests/sim/sim-proto.h \
	tests/sim/sim-tree.c \
	tests/sim/sim-kernel.c \
	tests/sim/sim-uevent.c \
	tests/sim/sim-client.h \
	tests/sim/sim-client.c
tests_sim_mdp_kernel_sim_CFLAGS = $(AM_CFLAGS) $(UMOCKDEV_CFLAGS) \
	-DMDP_SIM_SHIM=\"$(abs_top_builddir)/tests/sim/.libs/libmdpsimshim.so\" \
	-DMDP_FIXTURES_DIR=\"$(abs_top_srcdir)/tests/fixtures/real-kernel\" \
	-DMDP_ASAN_LIB=\"$(ASAN_LIB)\"
tests_sim_mdp_kernel_sim_LDADD = $(UMOCKDEV_LIBS)

# The write shim, preloaded after libumockdev-preload.so: a real shared object (-rpath makes
# libtool build one for a noinst library).
noinst_LTLIBRARIES += tests/sim/libmdpsimshim.la
tests_sim_libmdpsimshim_la_SOURCES = tests/sim/sim-shim.c tests/sim/sim-proto.h
tests_sim_libmdpsimshim_la_LDFLAGS = -module -avoid-version -shared -rpath $(abs_top_builddir)/tests/sim
tests_sim_libmdpsimshim_la_LIBADD = -ldl -lpthread

EXTRA_DIST += tests/sim/README.md
