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

# A trivial bus service for the harness's own tests.
check_PROGRAMS += tests/sim/mdp-test-service
tests_sim_mdp_test_service_SOURCES = tests/sim/mdp-test-service.c
tests_sim_mdp_test_service_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
tests_sim_mdp_test_service_LDADD = $(SYSTEMD_LIBS)
tests_sim_mdp_test_service_LDFLAGS = -no-install

EXTRA_DIST += tests/sim/README.md

# The integration harness (tests/harness.h) for Check programs: link $(MDP_HARNESS_LIBS),
# compile with $(MDP_HARNESS_CFLAGS).
check_LTLIBRARIES += tests/libharness.la
tests_libharness_la_SOURCES = tests/harness.h tests/harness.c tests/sim/sim-client.h tests/sim/sim-client.c
tests_libharness_la_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests \
	-DMDP_TOP_BUILDDIR=\"$(abs_top_builddir)\"
MDP_HARNESS_CFLAGS = $(SYSTEMD_CFLAGS) -I$(top_srcdir)/tests
MDP_HARNESS_LIBS = $(top_builddir)/tests/libharness.la $(SYSTEMD_LIBS)

# The simulated host against the real-kernel captures, without any daemon; and the harness.
check_PROGRAMS += tests/check_sim
tests_check_sim_SOURCES = tests/check_sim.c
tests_check_sim_CFLAGS = $(MDP_TEST_CFLAGS) $(MDP_HARNESS_CFLAGS) $(UDEV_CFLAGS)
tests_check_sim_LDADD = $(MDP_HARNESS_LIBS) $(MDP_TEST_LIBS) $(UDEV_LIBS) -lpthread
tests_check_sim_LDFLAGS = $(MDP_TEST_LINK)
TESTS += tests/check_sim
